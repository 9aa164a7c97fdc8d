"""Sports, calendar, calculators and health: everyday lookups and arithmetic."""

from __future__ import annotations

import random
from typing import Literal

from ..registry import Domain
from .common import CITIES, DATES, NOUNS, brief, distinct, find, pick, random_person

LEAGUES = ("premier", "liga", "serie_a", "bundesliga")


def _sports_db(rng: random.Random) -> dict:
    teams = [{"team": f"{c[0]} {rng.choice(NOUNS)}s", "league": rng.choice(LEAGUES), "founded": rng.randint(1880, 1990),
              "stadium": f"{rng.choice(NOUNS)} Park", "points": rng.randint(10, 80)} for c in CITIES[:20]]
    matches = []
    for i in range(60):
        home, away = rng.sample(teams, 2)
        matches.append({"match_id": f"M{7000 + i}", "home": home["team"], "away": away["team"], "date": rng.choice(DATES),
                        "score": f"{rng.randint(0, 4)}-{rng.randint(0, 4)}"})
    players = [{"player": p, "team": rng.choice(teams)["team"],
                "seasons": {y: {"goals": rng.randint(0, 30), "assists": rng.randint(0, 15)} for y in (2023, 2024, 2025)}}
               for p in distinct(rng, random_person, 30)]
    return {"teams": teams, "matches": sorted(matches, key=lambda m: m["date"]), "players": players}


sports = Domain("sports", _sports_db)
sports.sample(team=pick("teams", "team"), match_id=pick("matches", "match_id"), player=pick("players", "player"),
              season=lambda db, rng: rng.choice([2023, 2024, 2025]), league=lambda db, rng: rng.choice(LEAGUES))


@sports.tool("Facts about a sports team.",
             ["Tell me about {team}.", "When was {team} founded?"],
             team="Team name.")
def get_team_info(db, team: str):
    return brief(find(db["teams"], "team", team, "team"), "team", "league", "founded", "stadium")


@sports.tool("Matches of a team.",
             ["When does {team} play?", "Show the next {limit} matches of {team}."],
             team="Team name.", limit="Maximum number of matches.")
def get_team_schedule(db, team: str, limit: int = 3):
    name = find(db["teams"], "team", team, "team")["team"]
    return {"team": name, "matches": [brief(m, "match_id", "home", "away", "date")
                                      for m in db["matches"] if name in (m["home"], m["away"])][:limit]}


@sports.tool("Final score of a match.",
             ["What was the score of match {match_id}?", "Who won match {match_id}?"],
             match_id="Match id, e.g. 'M7012'.")
def get_match_result(db, match_id: str):
    return brief(find(db["matches"], "match_id", match_id, "match"), "match_id", "home", "away", "score")


@sports.tool("Goals and assists of a player, per season.",
             ["How many goals has {player} scored?", "What were {player}'s stats in {season}?"],
             player="Full name of the player.", season="Season year.")
def get_player_stats(db, player: str, season: int | None = None):
    row = find(db["players"], "player", player, "player")
    if season is None:
        return {"player": row["player"], "team": row["team"], "seasons": {str(y): s for y, s in row["seasons"].items()}}
    if season not in row["seasons"]:
        raise ValueError(f"no stats for season {season}")
    return {"player": row["player"], "season": season, **row["seasons"][season]}


@sports.tool("Current standings of a league.",
             ["Show me the {league} table.", "Who leads the {league} league?"],
             league="League.")
def get_league_standings(db, league: Literal[LEAGUES]):
    rows = sorted((t for t in db["teams"] if t["league"] == league), key=lambda t: -t["points"])
    return {"league": league, "table": [brief(t, "team", "points") for t in rows[:5]]}


sports.chain("get_team_schedule", "get_match_result", lambda r: {"match_id": r["matches"][0]["match_id"]},
             ["How did {team}'s first match end?", "Find {team}'s first match and tell me the score."])


def _calendar_db(rng: random.Random) -> dict:
    names = ["Dentist appointment", "Team standup", "Lunch with Sara", "Project review", "Gym", "Flight check-in",
             "Parent meeting", "Budget planning"]
    events = [{"event_id": f"EV{100 + i}", "title": rng.choice(names), "date": rng.choice(DATES[:12]),
               "time": f"{rng.randint(8, 18):02d}:{rng.choice(['00', '30'])}", "duration_minutes": rng.choice([30, 60, 90])}
              for i in range(30)]
    return {"events": sorted(events, key=lambda e: (e["date"], e["time"]))}


calendar = Domain("calendar", _calendar_db)
calendar.sample(event_id=pick("events", "event_id"), date=pick("events", "date"),
                title=lambda db, rng: rng.choice(["Call with Omar", "Piano lesson", "Team offsite", "Doctor visit"]),
                time=lambda db, rng: f"{rng.randint(8, 18):02d}:{rng.choice(['00', '30'])}",
                duration_minutes=lambda db, rng: rng.choice([30, 45, 60, 120]))


def _check_date(date: str) -> None:
    parts = date.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"date must look like YYYY-MM-DD, got {date!r}")


@calendar.tool("Create a calendar event.",
               ["Add \"{title}\" to my calendar on {date} at {time}.",
                "Schedule \"{title}\" on {date} at {time} for {duration_minutes} minutes."],
               title="Title of the event.", date="Date, YYYY-MM-DD.", time="Start time, HH:MM.",
               duration_minutes="Length in minutes.")
def create_event(db, title: str, date: str, time: str, duration_minutes: int = 60):
    _check_date(date)
    return {"created": True, "event_id": f"EV{sum(map(ord, title + date + time)) % 900 + 200}", "title": title,
            "date": date, "time": time, "duration_minutes": duration_minutes}


@calendar.tool("Events on a date.",
               ["What's on my calendar on {date}?", "Do I have anything scheduled for {date}?"],
               date="Date, YYYY-MM-DD.")
def list_events(db, date: str):
    _check_date(date)
    return {"date": date, "events": [brief(e, "event_id", "title", "time") for e in db["events"] if e["date"] == date]}


@calendar.tool("Details of an event by its id.",
               ["Show me event {event_id}.", "When is event {event_id} and how long does it last?"],
               event_id="Event id, e.g. 'EV104'.")
def get_event_details(db, event_id: str):
    return find(db["events"], "event_id", event_id, "event")


@calendar.tool("Delete an event by its id.",
               ["Cancel event {event_id}.", "Remove {event_id} from my calendar."],
               event_id="Event id.")
def delete_event(db, event_id: str):
    return {"deleted": True, "event_id": find(db["events"], "event_id", event_id, "event")["event_id"]}


@calendar.tool("Free time slots on a date long enough for a meeting.",
               ["When am I free on {date}?", "Find a free {duration_minutes}-minute slot on {date}."],
               date="Date, YYYY-MM-DD.", duration_minutes="Length of the slot in minutes.")
def find_free_slots(db, date: str, duration_minutes: int = 30):
    _check_date(date)
    busy = {int(e["time"][:2]) for e in db["events"] if e["date"] == date}
    hours = [h for h in range(8, 19) if h not in busy and (duration_minutes <= 60 or h + 1 not in busy)]
    return {"date": date, "free": [f"{h:02d}:00" for h in hours[:4]]}


calendar.chain("list_events", "get_event_details", lambda r: {"event_id": r["events"][0]["event_id"]},
               ["How long is my first event on {date}?", "Show me the details of the first thing on my calendar on {date}."])
calendar.chain("list_events", "delete_event", lambda r: {"event_id": r["events"][0]["event_id"]},
               ["Cancel my first event on {date}."])

UNITS = {"km": 1000.0, "mi": 1609.344, "m": 1.0, "ft": 0.3048}

calculator = Domain("calculator", lambda rng: {})
calculator.sample(value=lambda db, rng: rng.choice([12, 40, 250, 1.5, 99]), percent=lambda db, rng: rng.choice([5, 12.5, 20, 35]),
                  number=lambda db, rng: rng.choice([84, 360, 1001, 9973, 2310]), principal=lambda db, rng: rng.choice([5000, 20000, 250000]),
                  annual_rate=lambda db, rng: rng.choice([3.5, 4.2, 6.0]), years=lambda db, rng: rng.choice([5, 15, 30]),
                  bill_amount=lambda db, rng: rng.choice([42.5, 88, 130]), tip_percent=lambda db, rng: rng.choice([10, 15, 20]),
                  people=lambda db, rng: rng.randint(2, 6), from_unit=lambda db, rng: rng.choice(list(UNITS)),
                  to_unit=lambda db, rng: rng.choice(list(UNITS)), numbers=lambda db, rng: rng.sample(range(1, 100), 4))


@calculator.tool("Compute a percentage of a value.",
                 ["What is {percent}% of {value}?", "Calculate {percent} percent of {value}."],
                 value="The base value.", percent="The percentage.")
def calculate_percentage(db, value: float, percent: float):
    return {"result": round(value * percent / 100, 4)}


@calculator.tool("Convert a length between units.",
                 ["Convert {value} {from_unit} to {to_unit}.", "How many {to_unit} is {value} {from_unit}?"],
                 value="The length.", from_unit="Unit of the value.", to_unit="Unit to convert to.")
def convert_units(db, value: float, from_unit: Literal[tuple(UNITS)], to_unit: Literal[tuple(UNITS)]):
    return {"value": value, "from": from_unit, "to": to_unit, "result": round(value * UNITS[from_unit] / UNITS[to_unit], 4)}


@calculator.tool("Prime factorisation of a positive integer.",
                 ["What are the prime factors of {number}?", "Factorise {number}."],
                 number="A positive integer.")
def get_prime_factors(db, number: int):
    if not 2 <= number <= 10**12:   # trial division stays instant up to here
        raise ValueError(f"number must be between 2 and 10**12, got {number}")
    factors, n, d = [], number, 2
    while d * d <= n:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    return {"number": number, "factors": factors + ([n] if n > 1 else [])}


@calculator.tool("Monthly payment of a fixed-rate loan.",
                 ["What's the monthly payment on a {principal} loan at {annual_rate}% over {years} years?",
                  "I borrow {principal} for {years} years at {annual_rate} percent a year. How much do I pay monthly?"],
                 principal="Amount borrowed.", annual_rate="Yearly interest rate in percent.", years="Term in years.")
def calculate_loan_payment(db, principal: float, annual_rate: float, years: int):
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    r, n = annual_rate / 1200, years * 12
    payment = principal / n if r == 0 else principal * r / (1 - (1 + r) ** -n)
    return {"monthly_payment": round(payment, 2), "total_paid": round(payment * n, 2)}


@calculator.tool("Tip and share per person for a restaurant bill.",
                 ["How much tip on a {bill_amount} bill?", "Split a {bill_amount} bill between {people} people with a {tip_percent}% tip."],
                 bill_amount="Bill total.", tip_percent="Tip in percent.", people="Number of people sharing.")
def calculate_tip(db, bill_amount: float, tip_percent: float = 15, people: int = 1):
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    tip = bill_amount * tip_percent / 100
    return {"tip": round(tip, 2), "per_person": round((bill_amount + tip) / people, 2)}


@calculator.tool("Mean, minimum and maximum of a list of numbers.",
                 ["What's the average of {numbers}?", "Give me the mean, min and max of {numbers}."],
                 numbers="The numbers.")
def calculate_statistics(db, numbers: list[float]):
    if not numbers:
        raise ValueError("numbers must not be empty")
    return {"mean": round(sum(numbers) / len(numbers), 4), "min": min(numbers), "max": max(numbers)}


DRUGS = ["ibuprofen", "paracetamol", "warfarin", "aspirin", "omeprazole", "sertraline", "metformin", "amoxicillin"]
EXERCISES = {"running": 9.8, "cycling": 7.5, "swimming": 8.0, "walking": 3.5, "rowing": 7.0, "yoga": 3.0}


def _health_db(rng: random.Random) -> dict:
    drugs = [{"drug": d, "class": rng.choice(["analgesic", "anticoagulant", "antibiotic", "antidepressant", "other"]),
              "max_daily_mg": rng.choice([1000, 2400, 4000, 40, 200])} for d in DRUGS]
    pairs = {tuple(sorted(rng.sample(DRUGS, 2))): rng.choice(["moderate", "major"]) for _ in range(8)}
    return {"drugs": drugs, "interactions": [{"pair": list(p), "severity": s} for p, s in pairs.items()],
            "exercises": [{"exercise": e, "met": m, "muscles": rng.sample(["legs", "core", "back", "arms", "heart"], 2)}
                          for e, m in EXERCISES.items()]}


health = Domain("health", _health_db, held_out=True)
health.sample(weight_kg=lambda db, rng: rng.choice([55, 62.5, 70, 84, 96]), height_cm=lambda db, rng: rng.choice([158, 165, 172, 181, 190]),
              exercise=lambda db, rng: rng.choice(list(EXERCISES)), activity=lambda db, rng: rng.choice(list(EXERCISES)),
              duration_minutes=lambda db, rng: rng.choice([20, 30, 45, 60]), drug_name=lambda db, rng: rng.choice(DRUGS))
health.sample_together(("drug_a", "drug_b"), lambda db, rng: tuple(rng.sample(DRUGS, 2)))


@health.tool("Body-mass index from weight and height.",
             ["What's my BMI? I weigh {weight_kg} kg and I'm {height_cm} cm tall.", "Compute the BMI for {weight_kg} kg at {height_cm} cm."],
             weight_kg="Body weight in kilograms.", height_cm="Height in centimetres.")
def calculate_bmi(db, weight_kg: float, height_cm: float):
    if height_cm <= 0:
        raise ValueError(f"height_cm must be positive, got {height_cm}")
    bmi = weight_kg / (height_cm / 100) ** 2
    return {"bmi": round(bmi, 1), "category": "underweight" if bmi < 18.5 else "normal" if bmi < 25 else "overweight"}


@health.tool("What an exercise trains.",
             ["Which muscles does {exercise} work?", "Tell me about {exercise} as exercise."],
             exercise="Name of the exercise.")
def get_exercise_info(db, exercise: str):
    return find(db["exercises"], "exercise", exercise, "exercise")


@health.tool("Calories burned by an activity.",
             ["How many calories does {duration_minutes} minutes of {activity} burn?",
              "Calories burned by {activity} for {duration_minutes} minutes at {weight_kg} kg?"],
             activity="Name of the activity.", duration_minutes="Duration in minutes.", weight_kg="Body weight in kilograms.")
def get_calories_burned(db, activity: str, duration_minutes: int, weight_kg: float = 70):
    met = find(db["exercises"], "exercise", activity, "activity")["met"]
    return {"activity": activity, "kcal": round(met * weight_kg * duration_minutes / 60)}


@health.tool("Facts about a medicine.",
             ["What is {drug_name}?", "What's the maximum daily dose of {drug_name}?"],
             drug_name="Generic name of the drug.")
def get_drug_info(db, drug_name: str):
    return find(db["drugs"], "drug", drug_name, "drug")


@health.tool("Known interaction between two medicines.",
             ["Can I take {drug_a} with {drug_b}?", "Is there an interaction between {drug_a} and {drug_b}?"],
             drug_a="First drug.", drug_b="Second drug.")
def check_drug_interaction(db, drug_a: str, drug_b: str):
    for name in (drug_a, drug_b):
        find(db["drugs"], "drug", name, "drug")
    pair = sorted((drug_a.casefold(), drug_b.casefold()))
    hit = next((i for i in db["interactions"] if i["pair"] == pair), None)
    return {"drugs": pair, "interaction": hit["severity"] if hit else "none known"}
