"""Finance, shopping, travel and recipes: prices, orders, flights, hotels and dishes."""

from __future__ import annotations

import random
from typing import Literal

from .common import ADJECTIVES, CITIES, DATES, NOUNS, brief, distinct, find, pick, random_person
from ..registry import Domain

CURRENCIES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.88, "BRL": 5.0, "INR": 83.2}


def _finance_db(rng: random.Random) -> dict:
    symbols = distinct(rng, lambda r: "".join(r.choice("ABCDEFGHKLMNPRSTVWXZ") for _ in range(r.randint(3, 4))), 20)
    stocks = [{"symbol": s, "company": f"{rng.choice(NOUNS)} {rng.choice(['Corp', 'Labs', 'Systems', 'Holdings'])}",
               "price": round(rng.uniform(5, 900), 2), "history": [round(rng.uniform(5, 900), 2) for _ in range(10)],
               "news": [f"{s} {rng.choice(['beats', 'misses'])} estimates in Q{q}" for q in (1, 2, 3)]} for s in symbols]
    rates = {c: round(v * rng.uniform(0.97, 1.03), 4) if c != "USD" else 1.0 for c, v in CURRENCIES.items()}
    return {"stocks": stocks, "rates": rates}


def _rate(db: dict, base: str, target: str) -> float:
    for code in (base, target):
        if code.upper() not in db["rates"]:
            raise ValueError(f"unsupported currency {code!r}")
    return db["rates"][target.upper()] / db["rates"][base.upper()]


finance = Domain("finance", _finance_db)
finance.sample(symbol=pick("stocks", "symbol"), company=pick("stocks", "company"),
               amount=lambda db, rng: rng.choice([20, 75, 150, 1200, 99.5]),
               from_currency=lambda db, rng: rng.choice(list(CURRENCIES)), to_currency=lambda db, rng: rng.choice(list(CURRENCIES)),
               base=lambda db, rng: rng.choice(list(CURRENCIES)), target=lambda db, rng: rng.choice(list(CURRENCIES)))


@finance.tool("Latest price of a stock.",
              ["What's the price of {symbol} stock?", "How much is {symbol} trading at?"],
              symbol="Ticker symbol, e.g. 'ABCD'.")
def get_stock_price(db, symbol: str):
    return brief(find(db["stocks"], "symbol", symbol, "symbol"), "symbol", "price")


@finance.tool("Closing prices of a stock over the last days.",
              ["Show me the price history of {symbol}.", "How did {symbol} do over the last {days} days?"],
              symbol="Ticker symbol.", days="Number of past trading days, 1 to 10.")
def get_stock_history(db, symbol: str, days: int = 5):
    if not 1 <= days <= 10:
        raise ValueError(f"days must be between 1 and 10, got {days}")
    return {"symbol": symbol, "closes": find(db["stocks"], "symbol", symbol, "symbol")["history"][:days]}


@finance.tool("Recent news headlines about a stock.",
              ["Any news about {symbol}?", "Give me {limit} headlines about {symbol}."],
              symbol="Ticker symbol.", limit="Maximum number of headlines.")
def get_stock_news(db, symbol: str, limit: int = 3):
    return {"symbol": symbol, "headlines": find(db["stocks"], "symbol", symbol, "symbol")["news"][:limit]}


@finance.tool("Ticker symbol of a company.",
              ["What is the ticker symbol of {company}?", "Look up the stock symbol for {company}."],
              company="Company name.")
def get_stock_symbol(db, company: str):
    return brief(find(db["stocks"], "company", company, "company"), "company", "symbol")


@finance.tool("Convert an amount of money between currencies.",
              ["Convert {amount} {from_currency} to {to_currency}.", "How much is {amount} {from_currency} in {to_currency}?"],
              amount="Amount to convert.", from_currency="ISO code of the source currency.",
              to_currency="ISO code of the target currency.")
def convert_currency(db, amount: float, from_currency: str, to_currency: str):
    return {"amount": amount, "from": from_currency, "to": to_currency,
            "converted": round(amount * _rate(db, from_currency, to_currency), 2)}


@finance.tool("Exchange rate between two currencies.",
              ["What's the exchange rate from {base} to {target}?", "{base} to {target} rate today?"],
              base="ISO code of the base currency.", target="ISO code of the quote currency.")
def get_exchange_rate(db, base: str, target: str):
    return {"base": base, "target": target, "rate": round(_rate(db, base, target), 4)}


finance.chain("get_stock_symbol", "get_stock_price", lambda r: {"symbol": r["symbol"]},
              ["What's the share price of {company}?", "Find {company}'s ticker and tell me its price."])
finance.chain("get_stock_symbol", "get_stock_news", lambda r: {"symbol": r["symbol"]},
              ["Any recent news about {company} stock?"])

PRODUCT_CATEGORIES = ("electronics", "kitchen", "outdoors", "books", "toys")


def _shop_db(rng: random.Random) -> dict:
    products = [{"product_id": f"B0{rng.randint(10000, 99999)}", "name": f"{rng.choice(ADJECTIVES)} {item}",
                 "category": cat, "price": round(rng.uniform(5, 400), 2), "rating": round(rng.uniform(2.5, 5), 1),
                 "reviews": [{"stars": rng.randint(1, 5), "text": rng.choice(["great", "broke fast", "as described", "ok"])}
                             for _ in range(3)]}
                for cat, items in [("electronics", ["headphones", "charger", "speaker"]), ("kitchen", ["kettle", "pan", "blender"]),
                                   ("outdoors", ["tent", "backpack", "lantern"]), ("books", ["notebook", "atlas"]),
                                   ("toys", ["puzzle", "kite"])] for item in items for _ in range(2)]
    orders = [{"order_id": f"ORD-{rng.randint(10000, 99999)}", "status": rng.choice(["processing", "shipped", "delivered"]),
               "tracking_number": f"1Z{rng.randint(10**9, 10**10 - 1)}", "product_id": rng.choice(products)["product_id"]}
              for _ in range(15)]
    return {"products": products, "orders": orders, "items": sorted({p["name"].split()[-1] for p in products})}


shopping = Domain("shopping", _shop_db)
shopping.sample(query=lambda db, rng: rng.choice(db["items"]), product_id=pick("products", "product_id"),
                order_id=pick("orders", "order_id"), tracking_number=pick("orders", "tracking_number"),
                max_price=lambda db, rng: rng.choice([50, 100, 250]), category=lambda db, rng: rng.choice(PRODUCT_CATEGORIES),
                min_rating=lambda db, rng: rng.randint(2, 4))


@shopping.tool("Search the shop's products.",
               ["I'm looking for a {query}.", "Find me a {query} under {max_price} dollars.",
                "Search {category} products matching {query}."],
               query="What to search for.", max_price="Maximum price in USD.", category="Product category.")
def search_products(db, query: str, max_price: float | None = None, category: Literal[PRODUCT_CATEGORIES] | None = None):
    rows = [p for p in db["products"] if query.casefold() in p["name"].casefold()
            and (max_price is None or p["price"] <= max_price) and category in (None, p["category"])]
    return {"results": [brief(p, "product_id", "name", "price") for p in rows[:3]]}


@shopping.tool("Details of a product by its id.",
               ["Tell me more about product {product_id}.", "What does {product_id} cost?"],
               product_id="Product id, e.g. 'B012345'.")
def get_product_details(db, product_id: str):
    return brief(find(db["products"], "product_id", product_id, "product"), "product_id", "name", "category", "price", "rating")


@shopping.tool("Customer reviews of a product.",
               ["What do customers say about {product_id}?", "Show {product_id} reviews with at least {min_rating} stars."],
               product_id="Product id.", min_rating="Only reviews with at least this many stars.")
def get_product_reviews(db, product_id: str, min_rating: int | None = None):
    reviews = find(db["products"], "product_id", product_id, "product")["reviews"]
    return {"product_id": product_id, "reviews": [r for r in reviews if min_rating is None or r["stars"] >= min_rating]}


@shopping.tool("Status of an order.",
               ["Where is my order {order_id}?", "Has order {order_id} shipped yet?"],
               order_id="Order id, e.g. 'ORD-12345'.")
def get_order_status(db, order_id: str):
    return brief(find(db["orders"], "order_id", order_id, "order"), "order_id", "status", "tracking_number")


@shopping.tool("Track a parcel by its tracking number.",
               ["Track package {tracking_number}.", "Where is parcel {tracking_number} now?"],
               tracking_number="Carrier tracking number.")
def track_package(db, tracking_number: str):
    order = find(db["orders"], "tracking_number", tracking_number, "tracking number")
    where = {"processing": "warehouse", "shipped": "in transit", "delivered": "front door"}[order["status"]]
    return {"tracking_number": tracking_number, "location": where}


shopping.chain("get_order_status", "track_package", lambda r: {"tracking_number": r["tracking_number"]},
               ["Where exactly is the parcel for order {order_id}?", "Track the package of my order {order_id}."])
shopping.chain("search_products", "get_product_reviews", lambda r: {"product_id": r["results"][0]["product_id"]},
               ["Find a {query} and show me its reviews."])

AIRPORTS = {c[0]: code for c, code in zip(CITIES, ["LIS", "MAD", "CDG", "BER", "FCO", "VIE", "WAW", "ATH", "CAI",
                                                      "NBO", "DXB", "BOM", "BKK", "SIN", "HND", "ICN", "SYD", "AKL",
                                                      "YYZ", "ORD", "DEN", "SEA", "MEX", "LIM", "SCL", "OSL"])}


def _city_of(airport: str) -> str:
    return next(city for city, code in AIRPORTS.items() if code == airport)


def _travel_db(rng: random.Random) -> dict:
    codes = list(AIRPORTS.values())
    flights = [{"flight_number": f"{rng.choice(['TP', 'LH', 'AF', 'UA', 'NH', 'QF'])}{rng.randint(100, 999)}",
                "origin": o, "destination": d, "date": rng.choice(DATES), "departure": f"{rng.randint(6, 22):02d}:{rng.choice(['00', '30'])}",
                "status": rng.choice(["on time", "delayed", "boarding", "cancelled"]), "price": rng.randint(80, 1400),
                "seats_left": rng.randint(0, 9)} for o, d in (rng.sample(codes, 2) for _ in range(40))]
    hotels = [{"hotel_id": f"H{rng.randint(100, 999)}", "name": f"Hotel {rng.choice(NOUNS)}", "city": c[0],
               "price_per_night": rng.randint(40, 450), "stars": rng.randint(2, 5)} for c in CITIES for _ in range(2)]
    return {"flights": flights, "hotels": hotels}


travel = Domain("travel", _travel_db)
travel.sample(flight_number=pick("flights", "flight_number"), city=pick("hotels", "city"),
              check_in=lambda db, rng: rng.choice(DATES), nights=lambda db, rng: rng.randint(1, 6),
              max_price=lambda db, rng: rng.choice([100, 200, 300]), passenger_name=lambda db, rng: random_person(rng))


@travel.tool("Search flights between two airports on a date.",
             ["Find flights from {origin} to {destination} on {date}.", "Any {cabin} flights {origin} to {destination} on {date}?"],
             origin="IATA code of the departure airport, e.g. 'LIS'.", destination="IATA code of the arrival airport.",
             date="Departure date, YYYY-MM-DD.", cabin="Cabin class.")
def search_flights(db, origin: str, destination: str, date: str, cabin: Literal["economy", "business"] = "economy"):
    rows = [f for f in db["flights"] if f["origin"] == origin.upper() and f["destination"] == destination.upper()
            and f["date"] == date]
    factor = 3 if cabin == "business" else 1
    return {"flights": [{"flight_number": f["flight_number"], "departure": f["departure"], "price": f["price"] * factor}
                        for f in rows]}


@travel.tool("Live status of a flight.",
             ["Is flight {flight_number} on time?", "What's the status of {flight_number}?"],
             flight_number="Flight number, e.g. 'TP123'.")
def get_flight_status(db, flight_number: str):
    return brief(find(db["flights"], "flight_number", flight_number, "flight"), "flight_number", "status", "departure")


@travel.tool("Schedule details of a flight.",
             ["Where does flight {flight_number} go?", "Give me the details of flight {flight_number}."],
             flight_number="Flight number.")
def get_flight_details(db, flight_number: str):
    return brief(find(db["flights"], "flight_number", flight_number, "flight"),
                 "flight_number", "origin", "destination", "date", "departure", "seats_left")


@travel.tool("Book seats on a flight.",
             ["Book flight {flight_number} for {passenger_name}.", "Reserve {seats} seats on {flight_number} for {passenger_name}."],
             flight_number="Flight number.", passenger_name="Full name of the lead passenger.", seats="Number of seats.")
def book_flight(db, flight_number: str, passenger_name: str, seats: int = 1):
    if seats < 1:
        raise ValueError(f"seats must be at least 1, got {seats}")
    flight = find(db["flights"], "flight_number", flight_number, "flight")
    if seats > flight["seats_left"]:
        return {"booked": False, "reason": f"only {flight['seats_left']} seats left"}
    return {"booked": True, "flight_number": flight["flight_number"], "passenger": passenger_name, "seats": seats,
            "total_price": flight["price"] * seats}


@travel.tool("Search hotels in a city.",
             ["Find a hotel in {city} from {check_in}.", "Hotels in {city} for {nights} nights from {check_in} under {max_price} a night?"],
             city="City name.", check_in="Check-in date, YYYY-MM-DD.", nights="Number of nights.",
             max_price="Maximum price per night in USD.")
def search_hotels(db, city: str, check_in: str, nights: int = 1, max_price: int | None = None):
    rows = [h for h in db["hotels"] if h["city"].casefold() == city.casefold()
            and (max_price is None or h["price_per_night"] <= max_price)]
    return {"city": city, "check_in": check_in, "hotels": [
        {"name": h["name"], "stars": h["stars"], "total_price": h["price_per_night"] * nights} for h in rows]}


travel.sample(seats=lambda db, rng: rng.randint(1, 3), cabin=lambda db, rng: rng.choice(["economy", "business"]))
travel.sample_together(("origin", "destination", "date"),
                       lambda db, rng: (lambda f: (f["origin"], f["destination"], f["date"]))(rng.choice(db["flights"])))
travel.chain("search_flights", "get_flight_status", lambda r: {"flight_number": r["flights"][0]["flight_number"]},
             ["Find a flight from {origin} to {destination} on {date} and check whether it is on time."])
travel.chain("get_flight_details", "search_hotels", lambda r: {"city": _city_of(r["destination"]), "check_in": r["date"]},
             ["I'm on flight {flight_number}; find me a hotel where it lands, for the day it arrives."])


CUISINES = ("italian", "indian", "japanese", "mexican", "greek")


def _recipes_db(rng: random.Random) -> dict:
    ingredients = ["chickpeas", "spinach", "rice", "tofu", "salmon", "tomato", "garlic", "lentils", "mushrooms",
                   "eggs", "basil", "potatoes"]
    recipes = [{"recipe_id": f"R{500 + i}", "name": f"{rng.choice(['Quick', 'Spicy', 'Classic', 'Rustic'])} "
                f"{rng.choice(['stew', 'salad', 'curry', 'bowl', 'bake'])}", "cuisine": rng.choice(CUISINES),
                "ingredients": rng.sample(ingredients, 3), "minutes": rng.choice([15, 20, 30, 45, 60]),
                "kcal_per_serving": rng.randint(250, 800)} for i in range(30)]
    return {"recipes": recipes}


recipes = Domain("recipes", _recipes_db)
recipes.sample(ingredients=lambda db, rng: rng.sample(rng.choice(db["recipes"])["ingredients"], rng.randint(1, 2)),
               recipe_id=pick("recipes", "recipe_id"), max_minutes=lambda db, rng: rng.choice([20, 30, 45]),
               cuisine=lambda db, rng: rng.choice(CUISINES), servings=lambda db, rng: rng.randint(2, 6))


@recipes.tool("Recipes that use all the given ingredients.",
              ["What can I cook with {ingredients}?", "Find a recipe with {ingredients} that takes at most {max_minutes} minutes."],
              ingredients="Ingredients the recipe must use.", max_minutes="Maximum cooking time in minutes.")
def search_recipes(db, ingredients: list[str], max_minutes: int | None = None):
    wanted = {i.casefold() for i in ingredients}
    rows = [r for r in db["recipes"] if wanted <= set(r["ingredients"]) and (max_minutes is None or r["minutes"] <= max_minutes)]
    return {"results": [brief(r, "recipe_id", "name", "minutes") for r in rows[:3]]}


@recipes.tool("Ingredients and cooking time of a recipe.",
              ["Show me recipe {recipe_id}.", "What do I need for recipe {recipe_id}?"],
              recipe_id="Recipe id, e.g. 'R512'.")
def get_recipe_details(db, recipe_id: str):
    return brief(find(db["recipes"], "recipe_id", recipe_id, "recipe"), "recipe_id", "name", "ingredients", "minutes")


@recipes.tool("Calories of a recipe for a number of servings.",
              ["How many calories are in recipe {recipe_id}?", "Calories of {recipe_id} for {servings} servings?"],
              recipe_id="Recipe id.", servings="Number of servings.")
def get_recipe_nutrition(db, recipe_id: str, servings: int = 1):
    recipe = find(db["recipes"], "recipe_id", recipe_id, "recipe")
    return {"recipe_id": recipe_id, "servings": servings, "kcal": recipe["kcal_per_serving"] * servings}


@recipes.tool("Recipes of a cuisine.",
              ["Suggest some {cuisine} recipes.", "Give me {limit} {cuisine} dishes to cook."],
              cuisine="Cuisine.", limit="Maximum number of recipes.")
def get_recipes_by_cuisine(db, cuisine: Literal[CUISINES], limit: int = 3):
    return {"cuisine": cuisine, "recipes": [brief(r, "recipe_id", "name") for r in db["recipes"] if r["cuisine"] == cuisine][:limit]}


@recipes.tool("Scale a recipe's ingredient list to a number of servings.",
              ["Scale recipe {recipe_id} to {servings} servings.", "I'm cooking {recipe_id} for {servings} people; what do I buy?"],
              recipe_id="Recipe id.", servings="Number of servings.")
def scale_recipe(db, recipe_id: str, servings: int):
    if servings < 1:
        raise ValueError(f"servings must be at least 1, got {servings}")
    recipe = find(db["recipes"], "recipe_id", recipe_id, "recipe")
    return {"recipe_id": recipe_id, "servings": servings, "shopping_list": [f"{servings} x {i}" for i in recipe["ingredients"]]}


recipes.chain("search_recipes", "get_recipe_nutrition", lambda r: {"recipe_id": r["results"][0]["recipe_id"]},
              ["Find a recipe with {ingredients} and tell me its calories."])
recipes.chain("search_recipes", "get_recipe_details", lambda r: {"recipe_id": r["results"][0]["recipe_id"]},
              ["I have {ingredients}; show me the full recipe of something I can make."])
