"""Papers, movies, music and books: catalogues searched by keyword, id, author or title."""

from __future__ import annotations

import random
from typing import Literal

from ..registry import Domain
from .common import ADJECTIVES, NOUNS, TOPICS, brief, distinct, find, pick, random_person, random_title


def _papers_db(rng: random.Random) -> dict:
    authors = distinct(rng, random_person, 12)
    papers = [{"paper_id": f"P{2000 + i}", "title": f"{rng.choice(['Scaling', 'Revisiting', 'Towards', 'Learning'])} "
               f"{rng.choice(TOPICS)}", "authors": rng.sample(authors, 2), "year": rng.randint(2015, 2025),
               "keywords": rng.sample(TOPICS, 2), "citations": rng.randint(0, 900),
               "abstract": f"We study {rng.choice(TOPICS)} and report a {rng.randint(2, 30)}% gain."} for i in range(40)]
    for p in papers:
        p["cited_by"] = rng.sample([q["paper_id"] for q in papers if q is not p], 3)
    return {"papers": papers, "authors": authors}


papers = Domain("papers", _papers_db)
papers.sample(paper_id=pick("papers", "paper_id"), author=lambda db, rng: rng.choice(db["papers"])["authors"][0],
              keywords=lambda db, rng: rng.sample(rng.choice(db["papers"])["keywords"], rng.randint(1, 2)),
              year_from=lambda db, rng: rng.randint(2015, 2020))


def _paper_rows(rows: list[dict], limit: int) -> list[dict]:
    return [brief(p, "paper_id", "title", "year") for p in rows[:limit]]


@papers.tool("Details of one paper by its id.",
             ["Show me the details of paper {paper_id}.", "Who wrote paper {paper_id} and when?",
              ("Get paper {paper_id} including its abstract.", {"include_abstract": True})],
             paper_id="Paper id, e.g. 'P2007'.", include_abstract="Whether to include the abstract.")
def get_paper_details(db, paper_id: str, include_abstract: bool = False):
    paper = find(db["papers"], "paper_id", paper_id, "paper")
    out = brief(paper, "paper_id", "title", "authors", "year", "citations")
    if include_abstract:
        out["abstract"] = paper["abstract"]
    return out


@papers.tool("Search papers whose keywords include all the given keywords.",
             ["Find papers about {keywords}.", "Search for papers on {keywords} published since {year_from}.",
              "I need {limit} papers with the keywords {keywords}."],
             keywords="Keywords the papers must have.", year_from="Earliest publication year.",
             limit="Maximum number of papers.")
def get_papers_by_keywords(db, keywords: list[str], year_from: int | None = None, limit: int = 3):
    wanted = {k.casefold() for k in keywords}
    rows = [p for p in db["papers"] if wanted <= {k.casefold() for k in p["keywords"]}
            and (year_from is None or p["year"] >= year_from)]
    return {"total": len(rows), "papers": _paper_rows(rows, limit)}


@papers.tool("Papers written by an author.",
             ["What papers has {author} written?", "List {limit} papers by {author}."],
             author="Full name of the author.", limit="Maximum number of papers.")
def get_papers_by_author(db, author: str, limit: int = 3):
    rows = [p for p in db["papers"] if author.casefold() in (a.casefold() for a in p["authors"])]
    return {"author": author, "papers": _paper_rows(rows, limit)}


@papers.tool("Papers that cite a given paper.",
             ["Which papers cite {paper_id}?", "Show {limit} papers citing {paper_id}."],
             paper_id="Id of the cited paper.", limit="Maximum number of citing papers.")
def get_paper_citations(db, paper_id: str, limit: int = 3):
    paper = find(db["papers"], "paper_id", paper_id, "paper")
    return {"paper_id": paper["paper_id"], "cited_by": paper["cited_by"][:limit]}


@papers.tool("Profile of an author: paper count and total citations.",
             ["Tell me about the researcher {author}.", "How many citations does {author} have?"],
             author="Full name of the author.")
def get_author_profile(db, author: str):
    rows = [p for p in db["papers"] if author.casefold() in (a.casefold() for a in p["authors"])]
    if not rows:
        raise ValueError(f"author {author!r} not found")
    return {"author": author, "papers": len(rows), "citations": sum(p["citations"] for p in rows)}


papers.chain("get_papers_by_keywords", "get_paper_details", lambda r: {"paper_id": r["papers"][0]["paper_id"]},
             ["Find papers about {keywords} and show me the details of the first one.",
              "Look up papers on {keywords}, then tell me who wrote the top result."])
papers.chain("get_papers_by_author", "get_paper_citations", lambda r: {"paper_id": r["papers"][0]["paper_id"]},
             ["Find a paper by {author} and list the papers that cite it."])

GENRES = ("action", "comedy", "drama", "horror", "sci-fi", "animation")


def _movies_db(rng: random.Random) -> dict:
    titles = distinct(rng, random_title, 30)
    movies = [{"movie_id": f"tt{rng.randint(100000, 999999)}", "title": t, "genre": rng.choice(GENRES),
               "year": rng.randint(1990, 2025), "director": random_person(rng), "rating": round(rng.uniform(4, 9.5), 1),
               "reviews": [{"user": random_person(rng), "stars": rng.randint(1, 5)} for _ in range(4)]} for t in titles]
    return {"movies": movies}


movies = Domain("movies", _movies_db)
movies.sample(title=pick("movies", "title"), movie_id=pick("movies", "movie_id"),
              genre=lambda db, rng: rng.choice(GENRES), year=pick("movies", "year"))


@movies.tool("Search movies by title.",
             ["Search for the movie \"{title}\".", "Is there a film called \"{title}\"?"],
             title="Movie title or part of it.")
def search_movies(db, title: str):
    rows = [m for m in db["movies"] if title.casefold() in m["title"].casefold()]
    return {"results": [brief(m, "movie_id", "title", "year") for m in rows[:3]]}


@movies.tool("Details of a movie by its id.",
             ["Tell me about movie {movie_id}.", "Who directed {movie_id}?"],
             movie_id="Movie id, e.g. 'tt123456'.")
def get_movie_details(db, movie_id: str):
    return brief(find(db["movies"], "movie_id", movie_id, "movie"), "movie_id", "title", "genre", "year", "director", "rating")


@movies.tool("Movies of a genre, optionally from one year.",
             ["Recommend some {genre} movies.", "Which {genre} films came out in {year}?"],
             genre="Movie genre.", year="Release year.")
def get_movies_by_genre(db, genre: Literal[GENRES], year: int | None = None):
    rows = [m for m in db["movies"] if m["genre"] == genre and year in (None, m["year"])]
    return {"genre": genre, "movies": [brief(m, "movie_id", "title", "year") for m in rows[:4]]}


@movies.tool("User reviews of a movie.",
             ["What do people say about movie {movie_id}?", "Show {limit} reviews of {movie_id}."],
             movie_id="Movie id.", limit="Maximum number of reviews.")
def get_movie_reviews(db, movie_id: str, limit: int = 3):
    return {"movie_id": movie_id, "reviews": find(db["movies"], "movie_id", movie_id, "movie")["reviews"][:limit]}


@movies.tool("Cinema showtimes of a movie in a city.",
             ["Where can I watch {movie_id} in {city}?", "Showtimes for {movie_id} in {city} on {date}?"],
             movie_id="Movie id.", city="City to search cinemas in.", date="Date as YYYY-MM-DD.")
def get_movie_showtimes(db, movie_id: str, city: str, date: str | None = None):
    movie = find(db["movies"], "movie_id", movie_id, "movie")
    seed = sum(map(ord, movie["movie_id"] + city.casefold() + (date or "")))
    return {"movie_id": movie_id, "city": city, "times": [f"{14 + seed % 3}:{seed % 4 * 15:02d}", f"{19 + seed % 3}:30"]}


movies.sample(city=lambda db, rng: rng.choice(["Lisbon", "Berlin", "Tokyo", "Chicago", "Lima"]),
              date=lambda db, rng: f"2026-05-{rng.randint(10, 28)}")
movies.chain("search_movies", "get_movie_reviews", lambda r: {"movie_id": r["results"][0]["movie_id"]},
             ["Find the movie \"{title}\" and show me its reviews.", "What do reviewers think of \"{title}\"?"])
movies.chain("search_movies", "get_movie_details", lambda r: {"movie_id": r["results"][0]["movie_id"]},
             ["Who directed \"{title}\"?"])


def _music_db(rng: random.Random) -> dict:
    artists = distinct(rng, lambda r: f"{r.choice(ADJECTIVES)} {r.choice(NOUNS)}s", 10)
    albums = [{"album": f"{rng.choice(NOUNS)} {rng.choice(['Sessions', 'Lights', 'Stories', 'Days'])}",
               "artist": a, "year": rng.randint(1995, 2025)} for a in artists for _ in range(2)]
    songs = [{"song_id": f"S{300 + i}", "title": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}", "album": al["album"],
              "artist": al["artist"], "plays": rng.randint(1000, 9_000_000),
              "first_line": f"I saw the {rng.choice(NOUNS).lower()} in the {rng.choice(['rain', 'night', 'sun'])}"}
             for i, al in enumerate(albums * 2)]
    return {"artists": artists, "albums": albums, "songs": songs}


music = Domain("music", _music_db)
music.sample(query=pick("songs", "title"), song_id=pick("songs", "song_id"),
             artist=lambda db, rng: rng.choice(db["artists"]), album=pick("albums", "album"))


@music.tool("Search songs by title.",
            ["Find the song \"{query}\".", "Search for songs called \"{query}\"."],
            query="Song title or words from it.")
def search_songs(db, query: str):
    rows = [s for s in db["songs"] if query.casefold() in s["title"].casefold()]
    return {"results": [brief(s, "song_id", "title", "artist") for s in rows[:3]]}


@music.tool("Lyrics (first line) of a song by its id.",
            ["Show me the lyrics of song {song_id}.", "How does song {song_id} start?"],
            song_id="Song id, e.g. 'S305'.")
def get_song_lyrics(db, song_id: str):
    return brief(find(db["songs"], "song_id", song_id, "song"), "song_id", "title", "first_line")


@music.tool("Information about an artist: albums and total plays.",
            ["Tell me about the band {artist}.", "What albums has {artist} released?"],
            artist="Artist or band name.")
def get_artist_info(db, artist: str):
    albums = [a["album"] for a in db["albums"] if a["artist"].casefold() == artist.casefold()]
    if not albums:
        raise ValueError(f"artist {artist!r} not found")
    return {"artist": artist, "albums": albums,
            "plays": sum(s["plays"] for s in db["songs"] if s["artist"].casefold() == artist.casefold())}


@music.tool("Most played songs of an artist.",
            ["What are the most popular songs by {artist}?", "Top {limit} songs of {artist}, please."],
            artist="Artist or band name.", limit="Maximum number of songs.")
def get_artist_top_songs(db, artist: str, limit: int = 3):
    rows = sorted((s for s in db["songs"] if s["artist"].casefold() == artist.casefold()), key=lambda s: -s["plays"])
    return {"artist": artist, "songs": [brief(s, "song_id", "title", "plays") for s in rows[:limit]]}


@music.tool("Track list of an album.",
            ["Which songs are on the album \"{album}\"?", "List the tracks of \"{album}\"."],
            album="Album title.")
def get_album_tracks(db, album: str):
    find(db["albums"], "album", album, "album")
    return {"album": album, "tracks": [s["title"] for s in db["songs"] if s["album"].casefold() == album.casefold()]}


music.chain("search_songs", "get_song_lyrics", lambda r: {"song_id": r["results"][0]["song_id"]},
            ["How do the lyrics of \"{query}\" go?", "Find the song \"{query}\" and show me its lyrics."])
music.chain("get_artist_info", "get_album_tracks", lambda r: {"album": r["albums"][0]},
            ["List the tracks on the first album by {artist}."])

BRANCHES = ("central", "north", "harbor")


def _books_db(rng: random.Random) -> dict:
    titles = distinct(rng, lambda r: f"{r.choice(NOUNS)} of the {r.choice(ADJECTIVES)} {r.choice(NOUNS)}", 30)
    books = [{"isbn": f"978-{rng.randint(1000000000, 9999999999)}", "title": t, "author": random_person(rng),
              "pages": rng.randint(120, 800), "year": rng.randint(1950, 2025),
              "copies": {b: rng.randint(0, 3) for b in BRANCHES},
              "reviews": [{"stars": rng.randint(1, 5), "text": rng.choice(["gripping", "slow", "moving", "clever"])}
                          for _ in range(4)]} for t in titles]
    return {"books": books}


books = Domain("books", _books_db, held_out=True)
books.sample(title=pick("books", "title"), isbn=pick("books", "isbn"), author=pick("books", "author"),
             branch=lambda db, rng: rng.choice(BRANCHES), min_rating=lambda db, rng: rng.randint(2, 4))


@books.tool("Search books by title.",
            ["Search the catalogue for \"{title}\".", "Do you have a book called \"{title}\"?"],
            title="Book title or part of it.")
def search_books(db, title: str):
    rows = [b for b in db["books"] if title.casefold() in b["title"].casefold()]
    return {"results": [brief(b, "isbn", "title", "author") for b in rows[:3]]}


@books.tool("Details of a book by its ISBN.",
            ["Tell me about the book with ISBN {isbn}.", "How many pages does {isbn} have?"],
            isbn="ISBN-13 of the book.")
def get_book_details(db, isbn: str):
    return brief(find(db["books"], "isbn", isbn, "book"), "isbn", "title", "author", "pages", "year")


@books.tool("Books written by an author.",
            ["Which books did {author} write?", "List {limit} books by {author}."],
            author="Full name of the author.", limit="Maximum number of books.")
def get_books_by_author(db, author: str, limit: int = 3):
    rows = [b for b in db["books"] if b["author"].casefold() == author.casefold()]
    return {"author": author, "books": [brief(b, "isbn", "title", "year") for b in rows[:limit]]}


@books.tool("Copies of a book available at a library branch.",
            ["Is {isbn} available to borrow?", "Can I borrow {isbn} at the {branch} branch?"],
            isbn="ISBN-13 of the book.", branch="Library branch.")
def check_book_availability(db, isbn: str, branch: Literal[BRANCHES] = "central"):
    copies = find(db["books"], "isbn", isbn, "book")["copies"][branch]
    return {"isbn": isbn, "branch": branch, "available_copies": copies}


@books.tool("Reader reviews of a book.",
            ["What do readers think of {isbn}?", "Show reviews of {isbn} with at least {min_rating} stars."],
            isbn="ISBN-13 of the book.", min_rating="Only reviews with at least this many stars.")
def get_book_reviews(db, isbn: str, min_rating: int | None = None):
    reviews = find(db["books"], "isbn", isbn, "book")["reviews"]
    return {"isbn": isbn, "reviews": [r for r in reviews if min_rating is None or r["stars"] >= min_rating]}


books.chain("search_books", "get_book_details", lambda r: {"isbn": r["results"][0]["isbn"]},
            ["Find the book \"{title}\" and tell me how many pages it has."])
books.chain("search_books", "check_book_availability", lambda r: {"isbn": r["results"][0]["isbn"]},
            ["Is \"{title}\" available at the library?"])
