"""Weather, geography and news: tools over cities, countries and articles."""

from __future__ import annotations

import math
import random
from typing import Literal

from ..registry import Domain
from .common import CITIES, DATES, TOPICS, brief, find, pick, random_title

CONDITIONS = ["sunny", "cloudy", "rain", "light rain", "windy", "fog", "snow", "thunderstorm"]


def _weather_db(rng: random.Random) -> dict:
    cities = []
    for name, country, _, _, _ in CITIES:
        temp = rng.randint(-5, 35)
        cities.append({"city": name, "country": country, "temp_c": temp, "condition": rng.choice(CONDITIONS),
                       "humidity": rng.randint(20, 95), "wind_kph": rng.randint(0, 60), "aqi": rng.randint(10, 180),
                       "forecast": [{"day": d + 1, "high_c": temp + rng.randint(0, 6), "low_c": temp - rng.randint(2, 9),
                                     "condition": rng.choice(CONDITIONS)} for d in range(7)],
                       "alerts": [{"severity": s, "event": e} for s, e in
                                  rng.sample([("minor", "fog advisory"), ("moderate", "wind warning"),
                                              ("severe", "storm warning"), ("moderate", "heat advisory")], rng.randint(0, 2))],
                       "sunrise": f"0{rng.randint(5, 7)}:{rng.randint(10, 59)}",
                       "sunset": f"{rng.randint(17, 20)}:{rng.randint(10, 59)}"})
    return {"cities": cities}


def _temp(celsius: float, unit: str) -> float:
    return celsius if unit == "celsius" else round(celsius * 9 / 5 + 32, 1)


weather = Domain("weather", _weather_db)
weather.sample(city=pick("cities", "city"))


@weather.tool("Current weather conditions in a city.",
              ["What's the weather like in {city} right now?", "Current conditions in {city} in {unit}, please.",
               "Is it cold in {city} at the moment?", "Tell me today's weather for {city}, temperatures in {unit}."],
              city="Name of the city, e.g. 'Lisbon'.", unit="Temperature unit.")
def get_current_weather(db, city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"):
    row = find(db["cities"], "city", city, "city")
    return {"city": row["city"], "temperature": _temp(row["temp_c"], unit), "unit": unit,
            "condition": row["condition"], "humidity": row["humidity"]}


@weather.tool("Daily weather forecast for a city.",
              ["What's the forecast for {city}?", "Give me the {days}-day forecast for {city}.",
               "Forecast for {city} over the next {days} days in {unit}."],
              city="Name of the city.", days="Number of days to forecast, 1 to 7.", unit="Temperature unit.")
def get_weather_forecast(db, city: str, days: int = 3, unit: Literal["celsius", "fahrenheit"] = "celsius"):
    if not 1 <= days <= 7:
        raise ValueError(f"days must be between 1 and 7, got {days}")
    row = find(db["cities"], "city", city, "city")
    return {"city": row["city"], "unit": unit, "days": [
        {"day": f["day"], "high": _temp(f["high_c"], unit), "low": _temp(f["low_c"], unit), "condition": f["condition"]}
        for f in row["forecast"][:days]]}


@weather.tool("Air quality index (AQI) for a city.",
              ["How is the air quality in {city}?", "What's the AQI in {city} today?"],
              city="Name of the city.")
def get_air_quality(db, city: str):
    row = find(db["cities"], "city", city, "city")
    level = "good" if row["aqi"] <= 50 else "moderate" if row["aqi"] <= 100 else "unhealthy"
    return {"city": row["city"], "aqi": row["aqi"], "level": level}


@weather.tool("Active weather alerts for a city.",
              ["Are there any weather alerts for {city}?", "Show me {severity} weather alerts in {city}."],
              city="Name of the city.", severity="Only alerts of this severity.")
def get_weather_alerts(db, city: str, severity: Literal["minor", "moderate", "severe"] | None = None):
    row = find(db["cities"], "city", city, "city")
    return {"city": row["city"], "alerts": [a for a in row["alerts"] if severity in (None, a["severity"])]}


@weather.tool("Sunrise and sunset times for a city on a date.",
              ["When is sunrise in {city} on {date}?", "What time does the sun set in {city} on {date}?"],
              city="Name of the city.", date="Date as YYYY-MM-DD.")
def get_sunrise_sunset(db, city: str, date: str):
    row = find(db["cities"], "city", city, "city")
    return {"city": row["city"], "date": date, "sunrise": row["sunrise"], "sunset": row["sunset"]}


def _geo_db(rng: random.Random) -> dict:
    countries = {}
    for name, country, _, _, _ in CITIES:
        countries.setdefault(country, {"country": country, "capital": name, "population_millions":
                                       round(rng.uniform(1, 300), 1), "currency": rng.choice(["EUR", "USD", "JPY", "other"])})
    cities = [{"city": n, "country": c, "utc_offset": o, "lat": la, "lon": lo} for n, c, o, la, lo in CITIES]
    return {"countries": list(countries.values()), "cities": cities, "utc_now": f"2026-03-16T{rng.randint(0, 23):02d}:00"}


geography = Domain("geography", _geo_db)
geography.sample(country=pick("countries", "country"), city=pick("cities", "city"),
                 origin=pick("cities", "city"), destination=pick("cities", "city"))


@geography.tool("Basic facts about a country: capital, population, currency.",
                ["Tell me about {country}.", "Give me some facts about {country}."],
                country="Country name, e.g. 'Portugal'.")
def get_country_info(db, country: str):
    return find(db["countries"], "country", country, "country")


@geography.tool("The capital city of a country.",
                ["What is the capital of {country}?", "Which city is the capital of {country}?"],
                country="Country name.")
def get_country_capital(db, country: str):
    return brief(find(db["countries"], "country", country, "country"), "country", "capital")


@geography.tool("Time zone (UTC offset) of a city.",
                ["Which time zone is {city} in?", "What's the UTC offset of {city}?"],
                city="Name of the city.")
def get_city_timezone(db, city: str):
    row = find(db["cities"], "city", city, "city")
    return {"city": row["city"], "utc_offset": row["utc_offset"]}


@geography.tool("Current local time in a city.",
                ["What time is it in {city} now?", "Tell me the local time in {city}."],
                city="Name of the city.")
def get_local_time(db, city: str):
    row = find(db["cities"], "city", city, "city")
    hour, minute = divmod(int(db["utc_now"][11:13]) * 60 + round(row["utc_offset"] * 60), 60)
    return {"city": row["city"], "local_time": f"{hour % 24:02d}:{minute:02d}"}


@geography.tool("Great-circle distance between two cities.",
                ["How far is {origin} from {destination}?", "Distance from {origin} to {destination} in {unit}?"],
                origin="Starting city.", destination="Destination city.", unit="Distance unit.")
def get_distance_between_cities(db, origin: str, destination: str, unit: Literal["km", "mi"] = "km"):
    a, b = find(db["cities"], "city", origin, "city"), find(db["cities"], "city", destination, "city")
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b["lon"] - a["lon"]) / 2) ** 2
    km = 2 * 6371 * math.asin(math.sqrt(h))
    return {"origin": a["city"], "destination": b["city"], "distance": round(km if unit == "km" else km / 1.609, 1), "unit": unit}


geography.chain("get_country_capital", "get_current_weather", lambda r: {"city": r["capital"]},
                ["What's the weather like in the capital of {country}?",
                 "Find the capital of {country} and tell me its current weather."])
geography.chain("get_country_capital", "get_local_time", lambda r: {"city": r["capital"]},
                ["What time is it now in the capital of {country}?"])

NEWS_CATEGORIES = ("business", "science", "sports", "technology", "health")


def _news_db(rng: random.Random) -> dict:
    sources = ["Daily Ledger", "Morning Wire", "Global Desk", "Tech Pulse", "Science Now"]
    articles = [{"article_id": f"A-{1000 + i}", "headline": f"{random_title(rng)}: new findings on {rng.choice(TOPICS)}",
                 "category": rng.choice(NEWS_CATEGORIES), "source": rng.choice(sources),
                 "topic": rng.choice(TOPICS), "date": rng.choice(DATES), "words": rng.randint(300, 1500)}
                for i in range(40)]
    return {"articles": articles, "sources": sources, "topics": sorted({a["topic"] for a in articles})}


news = Domain("news", _news_db, held_out=True)
news.sample(category=lambda db, rng: rng.choice(NEWS_CATEGORIES), query=lambda db, rng: rng.choice(db["topics"]),
            source=lambda db, rng: rng.choice(db["sources"]), article_id=pick("articles", "article_id"),
            from_date=lambda db, rng: rng.choice(DATES[:8]))


def _news_rows(rows: list[dict], limit: int) -> list[dict]:
    return [brief(a, "article_id", "headline", "source", "date") for a in rows[:limit]]


@news.tool("Top headlines in a news category.",
           ["What are the top {category} headlines?", "Show me the top {limit} {category} stories."],
           category="News category.", limit="Maximum number of headlines.")
def get_top_headlines(db, category: Literal[NEWS_CATEGORIES], limit: int = 3):
    return {"category": category, "articles": _news_rows([a for a in db["articles"] if a["category"] == category], limit)}


@news.tool("Search news articles by topic.",
           ["Find news about {query}.", "Search the news for {query} since {from_date}.",
            "Any recent articles on {query}? Just {limit} please."],
           query="Topic to search for.", from_date="Earliest publication date, YYYY-MM-DD.",
           limit="Maximum number of articles.")
def search_news(db, query: str, from_date: str | None = None, limit: int = 3):
    rows = [a for a in db["articles"] if query.casefold() in a["topic"].casefold()
            and (from_date is None or a["date"] >= from_date)]
    return {"query": query, "articles": _news_rows(rows, limit)}


@news.tool("Full details of a news article by its id.",
           ["Open news article {article_id}.", "Give me the details of article {article_id}."],
           article_id="Article id, e.g. 'A-1003'.")
def get_news_article(db, article_id: str):
    return find(db["articles"], "article_id", article_id, "article")


@news.tool("News sources that publish in a category.",
           ["Which sources cover {category} news?", "List the news sources for {category}."],
           category="News category.")
def get_news_sources(db, category: Literal[NEWS_CATEGORIES]):
    return {"category": category, "sources": sorted({a["source"] for a in db["articles"] if a["category"] == category})}


@news.tool("Latest articles from one news source.",
           ["What has {source} published lately?", "Show me the latest {limit} articles from {source}."],
           source="Name of the news source.", limit="Maximum number of articles.")
def get_articles_by_source(db, source: str, limit: int = 3):
    if source.casefold() not in {s.casefold() for s in db["sources"]}:
        raise ValueError(f"source {source!r} not found")
    return {"source": source, "articles": _news_rows([a for a in db["articles"]
                                                      if a["source"].casefold() == source.casefold()], limit)}


news.chain("search_news", "get_news_article", lambda r: {"article_id": r["articles"][0]["article_id"]},
           ["Find news about {query} and open the first article."])
