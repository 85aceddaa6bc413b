#!/usr/bin/env python3
"""Writes the demo's bundled data under fixtures/demo/ (run once by hand; the output is committed).

The world is Millbrook, an invented river town: its shops, places and yearly events, each with a
handful of facts (street, year founded, founder, opening hours, closing day, what it is known for).
From that one table of facts the script writes:

  crawl.warc.gz   a small web about the town: guide pages that state the facts in prose inside
                  realistic boilerplate (navigation, cookie banner, footer, comments), FAQ pages
                  that list questions one after another, news posts, exact and near-duplicate
                  copies, thin and spammy pages, a quiz page that leaks eval questions, and a few
                  non-HTML payloads. One gzip member per WARC record, as Common Crawl writes them.
  Posts.xml       a StackExchange-format dump: questions about the facts, each with answers of
                  different quality and votes (a full correct answer, a curt partial one, a wrong
                  one, a full answer about another place, a counter-question); the full answer
                  always has the most votes, but the accepted one is as often the curt answer as
                  the full one.
  choice.jsonl    multiple-choice questions about facts the crawl states ({id, question, choices,
                  answer}).
  prompts.jsonl   held-out questions for generation ({id, prompt}), asked of entities and facts
                  in the same way as the Q&A dump but never present in it.

Everything comes from one seeded random generator: the same script gives the same bytes.
    python3 scripts/make_demo_data.py [--seed 7] [--out fixtures/demo]
"""
import argparse
import gzip
import html
import io
import json
import os
import random

STREETS = ["Mill Lane", "River Road", "Church Street", "Market Square", "Oak Avenue", "Station Road",
           "Bridge Street", "Elm Row", "Quarry Hill", "Willow Walk", "Ferry Lane", "Harbour Street"]
FIRST = ["Anna", "Tom", "Clara", "Hugo", "Ida", "Felix", "Mara", "Oskar", "Lena", "Jonas", "Rosa", "Emil",
         "Greta", "Paul", "Nora", "Otto", "Vera", "Karl", "Maja", "Leo", "Elsa", "Max", "Lotte", "Ben"]
LAST = ["Hale", "Brook", "Fenwick", "Ashby", "Marlow", "Thorne", "Pryce", "Wendell", "Caskey", "Lund",
        "Orme", "Varga", "Kestrel", "Dunmore", "Pike", "Holloway", "Birch", "Sutter", "Quill", "Rowan"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# Each kind: names it takes, what such a place is known for, and whether it keeps opening hours.
KINDS = {
    "bakery": (["Bakery", "Bakehouse", "Bread Shop"], ["rye bread", "cinnamon buns", "apple pies", "seed rolls", "plum cake"]),
    "bookshop": (["Books", "Bookshop", "Book Corner"], ["old maps", "children's books", "poetry", "local history books", "comics"]),
    "cafe": (["Café", "Coffee House", "Tea Room"], ["hot chocolate", "iced tea", "carrot cake", "espresso", "pancakes"]),
    "hardware store": (["Hardware", "Tools", "Ironmongery"], ["garden tools", "paint", "bicycle parts", "nails and screws", "rope"]),
    "florist": (["Flowers", "Florist", "Garden Shop"], ["tulips", "sunflowers", "wreaths", "roses", "potted herbs"]),
    "butcher": (["Butchers", "Meat Shop", "Smokehouse"], ["smoked ham", "sausages", "lamb chops", "meat pies", "bacon"]),
    "museum": (["Museum", "Heritage Centre", "Gallery"], ["the old water wheel", "river boats", "clock making", "paintings of the valley", "the flood of 1911"]),
    "restaurant": (["Kitchen", "Inn", "Bistro"], ["fish soup", "roast chicken", "mushroom pie", "river trout", "dumplings"]),
}
COLOURS = ["green", "blue", "red", "yellow", "white", "orange"]
# Sentences about the town itself, a few on every page, so pages read like a real guide and
# carry enough ordinary prose for the quality filters.
TOWN = [
    "Millbrook grew up around a water mill on the River Wend, and the old wheel still turns in summer.",
    "The town has about nine thousand people, a weekly market and more bicycles than cars.",
    "Most of the shops are within a ten minute walk of the stone bridge in the middle of town.",
    "Trains from the city stop at Millbrook station every hour, and the walk into town takes a quarter of an hour.",
    "In spring the meadows along the river are full of wild garlic, and the path to the weir is a favourite walk.",
    "Parking is free after six in the evening on most streets, but the market square is closed to cars on Saturdays.",
    "The town council publishes a small paper map that you can pick up at the library or the station.",
    "Many of the buildings on the older streets date from the time when the mill employed half of the town.",
    "There is a farmers' market on the first Sunday of every month, with cheese, honey and vegetables from the valley.",
    "Children like to feed the ducks below the bridge, and there is a playground beside the bowling green.",
    "The Spring Fair fills the market square every April with music, rides and food stalls.",
    "Local people are proud of their small businesses, and many of them have been run by the same family for generations.",
    "If you arrive by bicycle, there are racks outside the church and next to the post office.",
    "The river path links Millbrook with the next village, an easy hour on foot through fields and woods.",
    "Winters are mild here, but the fog from the river can be thick on November mornings.",
    "The old grain store near the station now holds artists' studios that open to visitors twice a year.",
]


class World:
    def __init__(self, rng, count):
        self.rng = rng
        self.places = []
        used = set()
        kinds = list(KINDS)
        while len(self.places) < count:
            kind = kinds[len(self.places) % len(kinds)]
            nouns, specialties = KINDS[kind]
            owner_last = rng.choice(LAST)
            name = f"{owner_last}'s {rng.choice(nouns)}" if rng.random() < 0.6 else f"The {rng.choice(['Old', 'Little', 'Blue', 'Corner', 'River', 'Golden', 'Green'])} {rng.choice(nouns)}"
            if name in used:
                continue
            used.add(name)
            opens = rng.choice([7, 8, 9, 10])
            self.places.append({
                "name": name, "kind": kind,
                "street": rng.choice(STREETS),
                "founded": rng.randrange(1880, 2016),
                "founder": f"{rng.choice(FIRST)} {owner_last}",
                "opens": opens, "closes": opens + rng.choice([7, 8, 9, 10]),
                "closed": rng.choice(DAYS),
                "specialty": rng.choice(specialties),
                "colour": rng.choice(COLOURS),
            })


def hour(h):
    return f"{h} am" if h < 12 else ("12 noon" if h == 12 else f"{h - 12} pm")


# ---------------------------------------------------------------- facts as prose and as Q&A

def fact_sentences(p, rng):
    """Every fact of a place, each in one of several phrasings."""
    n = p["name"]
    return [
        rng.choice([f"{n} is a {p['kind']} on {p['street']}.", f"You will find {n} on {p['street']}.",
                    f"{n}, a {p['kind']}, stands on {p['street']} behind a {p['colour']} door."]),
        rng.choice([f"It was founded in {p['founded']} by {p['founder']}.", f"{p['founder']} opened it in {p['founded']}.",
                    f"It has been here since {p['founded']}, when {p['founder']} started it."]),
        rng.choice([f"It opens at {hour(p['opens'])} and closes at {hour(p['closes'])}.",
                    f"Opening hours are {hour(p['opens'])} to {hour(p['closes'])}.",
                    f"The doors open at {hour(p['opens'])} and close at {hour(p['closes'])}."]),
        rng.choice([f"It is closed on {p['closed']}s.", f"On {p['closed']}s it stays closed.",
                    f"Every {p['closed']} it is closed."]),
        rng.choice([f"People come for its {p['specialty']}.", f"It is best known for its {p['specialty']}.",
                    f"Most visitors ask for the {p['specialty']}."]),
    ]


# (question, full answer, partial answer, wrong answer) per fact; wrong answers use a decoy.
def qa(p, fact, rng):
    n = p["name"]
    if fact == "street":
        decoy = rng.choice([s for s in STREETS if s != p["street"]])
        return (rng.choice([f"Where is {n}?", f"On which street is {n}?", f"How do I find {n}?"]),
                f"{n} is on {p['street']}. Look for the {p['colour']} door.",
                f"It's on {p['street']}, I think.", f"{n} is on {decoy}.")
    if fact == "founded":
        return (rng.choice([f"When was {n} founded?", f"How old is {n}?", f"Who started {n}?"]),
                f"{n} was founded in {p['founded']} by {p['founder']}.",
                f"It is quite old, from {p['founded']}.", f"It opened in {p['founded'] + rng.choice([-30, 20, 41])}.")
    if fact == "hours":
        return (rng.choice([f"When does {n} open?", f"What are the opening hours of {n}?", f"Is {n} open in the evening?"]),
                f"{n} opens at {hour(p['opens'])} and closes at {hour(p['closes'])}. It is closed on {p['closed']}s.",
                f"It opens at {hour(p['opens'])}.", f"It is open all night.")
    if fact == "closed":
        return (rng.choice([f"Which day is {n} closed?", f"Is {n} open on {p['closed']}?"]),
                f"{n} is closed on {p['closed']}s. On other days it opens at {hour(p['opens'])}.",
                f"Not on {p['closed']}s.", f"It never closes.")
    return (rng.choice([f"What is {n} known for?", f"What should I try at {n}?", f"What is special about {n}?"]),
            f"{n} is best known for its {p['specialty']}. People come from all over the valley for it.",
            f"The {p['specialty']}.", f"Nothing much, it is just a {p['kind']}.")


FACTS = ["street", "founded", "hours", "closed", "specialty"]

# ---------------------------------------------------------------- HTML pages

NAV = """<header><nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/shops/">Shops</a></li>
<li><a href="/events/">Events</a></li><li><a href="/faq/">FAQ</a></li><li><a href="/news/">News</a></li>
<li><a href="/contact">Contact</a></li></ul></nav></header>"""
COOKIE = """<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience on the
Millbrook Town Guide. By continuing to browse you agree to our use of cookies. <a href="/privacy">Learn more</a>
<button>Accept</button></div>"""
FOOTER = """<footer class="site-footer"><p>© 2024 Millbrook Town Guide · <a href="/about">About</a> ·
<a href="/privacy">Privacy</a> · <a href="/contact">Contact</a></p><p>Follow us on social media for updates.</p></footer>"""
SIDEBAR = """<aside class="sidebar"><h3>Popular pages</h3><ul><li><a href="/shops/">All shops</a></li>
<li><a href="/events/fair">Spring Fair</a></li><li><a href="/map">Town map</a></li></ul></aside>"""
COMMENTERS = ["Anna B.", "traveller77", "Tom from Leeds", "Greta", "local_dad", "M. Pryce"]
COMMENTS = ["Lovely place, we go every week!", "Great service, friendly staff.", "Parking can be tricky on weekends.",
            "Worth the visit.", "Prices went up a bit this year.", "Our kids love it."]


def page(title, body, rng, comments=True):
    comment_html = ""
    if comments and rng.random() < 0.7:
        items = "".join(f'<div class="comment"><span class="author">{rng.choice(COMMENTERS)}</span><p>{rng.choice(COMMENTS)}</p></div>'
                        for _ in range(rng.randrange(1, 4)))
        comment_html = f'<section id="comments" class="comments"><h3>Comments</h3>{items}</section>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | Millbrook Town Guide</title>
<link rel="stylesheet" href="/style.css"><script src="/analytics.js"></script></head>
<body>{COOKIE}{NAV}<main><article><h1>{html.escape(title)}</h1>
{body}
</article>{comment_html}</main>{SIDEBAR}{FOOTER}</body></html>"""


def paragraphs(sentences):
    return "\n".join(f"<p>{html.escape(' '.join(s))}</p>" for s in sentences)


def guide_page(p, rng):
    facts = fact_sentences(p, rng)
    rng.shuffle(facts[2:])
    extra = rng.choice([f"Many locals say it is the best {p['kind']} in Millbrook.",
                        f"The {p['kind']} is a short walk from the river.",
                        "Visitors often stop here on their way to the old mill."])
    town = rng.sample(TOWN, 4)
    return page(p["name"], paragraphs([facts[:2] + town[:2], facts[2:] + [extra], town[2:]]), rng)


def faq_page(places, rng, held_out):
    """Questions one after another, then the answers: the pages a base model learns to
    continue a question with more questions from."""
    topic = rng.choice(["visiting Millbrook", "shopping in Millbrook", "Millbrook's shops", "the town centre"])
    pairs = [qa(p, rng.choice([f for f in FACTS if (p["name"], f) not in held_out]), rng) for p in places]
    questions = "".join(f"<li>{html.escape(q)}</li>" for q, *_ in pairs)
    extra = "".join(f"<li>{html.escape(q)}</li>" for q in rng.sample(
        ["Where can I park?", "Is there a bus from the station?", "Are dogs allowed?", "Can I pay by card?",
         "Is there a toilet nearby?", "Do I need to book?", "Is it good for children?"], 3))
    answers = "".join(f"<h3>{html.escape(q)}</h3><p>{html.escape(a)}</p>" for q, a, *_ in pairs[: len(pairs) // 2])
    intro = html.escape(" ".join(rng.sample(TOWN, 3)))
    body = f"<p>{intro}</p><p>Here are the questions visitors ask us most often about {topic}, and answers to some of them. We add new questions every month.</p><ul class=\"faq\">{questions}{extra}</ul>{answers}"
    return f"Frequently asked questions about {topic}", page(f"FAQ: {topic}", body, rng, comments=False)


def news_page(p, rng):
    year = rng.randrange(2019, 2025)
    lead = rng.choice([f"{p['name']} celebrated another busy year in {year}.",
                       f"In {year}, {p['name']} repainted its {p['colour']} front door.",
                       f"Big news from {p['street']}: {p['name']} has new opening hours for {year}."])
    facts = fact_sentences(p, rng)
    town = rng.sample(TOWN, 4)
    return page(f"News: {p['name']} in {year}", paragraphs([[lead] + facts[2:4] + town[:2], facts[:2] + [facts[4]], town[2:]]), rng)


def spam_page(rng):
    words = ["cheap", "best", "price", "buy", "now", "casino", "pills", "free", "win", "click", "discount", "offer"]
    text = " ".join(rng.choice(words) for _ in range(rng.randrange(150, 300)))
    return page("BEST CHEAP OFFERS", f"<p>{text}</p>", rng, comments=False)


def thin_page(rng):
    return page(rng.choice(["Coming soon", "Page not found", "Tag: shops", "Archive"]),
                rng.choice(["<p>Coming soon.</p>", "<p>Sorry, this page does not exist.</p>",
                            "<ul><li><a href='/a'>a</a></li><li><a href='/b'>b</a></li></ul>", "<p>Nothing here yet.</p>"]),
                rng, comments=False)


# ---------------------------------------------------------------- WARC

def warc_record(kind, uri, payload, date, rng, content_type="application/http; msgtype=response"):
    rid = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}>\r\n"
            f"WARC-Date: {date}\r\n" + (f"WARC-Target-URI: {uri}\r\n" if uri else "")
            + f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
    member = io.BytesIO()
    with gzip.GzipFile(fileobj=member, mode="wb", mtime=0) as z:
        z.write(head + payload + b"\r\n\r\n")
    return member.getvalue()


def http_response(body, content_type="text/html; charset=utf-8"):
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Server: nginx\r\n\r\n").encode() + body


# ---------------------------------------------------------------- Posts.xml

def posts_xml(world, held_out, rng):
    rows = []
    next_id = 1
    date = 0
    asked = set()
    for p in world.places:
        for fact in FACTS:
            if (p["name"], fact) in held_out:
                continue
            q, good, partial, wrong = qa(p, fact, rng)
            asked.add((p["name"], fact))
            qid = next_id
            next_id += 1
            # Votes rank the full answer first, always; the asker's accepted mark does not: as on real
            # sites, a curt answer that was enough for the asker is often the accepted one. So the SFT
            # set (accepted answer first) holds curt answers that the votes, and so the preference
            # pairs and the reward model, rank below the full ones: what DPO and PPO then fix.
            # Scores keep the order once accepted counts: log2(1 + 3) + 1 < log2(1 + 8).
            answers = [("good", good, rng.randrange(8, 30)), ("partial", partial, rng.randrange(1, 4)),
                       ("wrong", wrong, rng.randrange(-3, 2))]
            if rng.random() < 0.5:  # a full answer, but about another place: it answers a question nobody asked
                other = rng.choice([o for o in world.places if o is not p])
                answers.append(("off-topic", qa(other, rng.choice(FACTS), rng)[1], rng.randrange(-3, 1)))
            if rng.random() < 0.5:
                answers.append(("question", rng.choice(["Why do you want to know?", "Have you tried asking at the station?",
                                                        "Did you check their website?"]), rng.randrange(-2, 1)))
            rng.shuffle(answers)
            draw = rng.random()
            accepted_kind = "good" if draw < 0.45 else ("partial" if draw < 0.85 else None)
            accepted = None
            ids = []
            for kind, _, _ in answers:
                ids.append(next_id)
                if kind == accepted_kind:
                    accepted = next_id
                next_id += 1
            intro = rng.choice(["I'm visiting Millbrook next week.", "We just moved to Millbrook.", "Planning a day trip.", ""])
            body = f"<p>{html.escape(intro + ' ' + q if intro else q, quote=False)}</p>"
            tags = f"<{p['kind'].replace(' ', '-')}><millbrook>"
            date += 1
            attrs = {"Id": qid, "PostTypeId": 1, "CreationDate": f"2023-01-{1 + date % 28:02d}T10:{date % 60:02d}:00.000",
                     "Score": sum(a[2] for a in answers) // 3, "Title": q, "Body": body, "Tags": tags,
                     "AnswerCount": len(answers)}
            if accepted:
                attrs["AcceptedAnswerId"] = accepted
            rows.append(attrs)
            for aid, (kind, text, score) in zip(ids, answers):
                rows.append({"Id": aid, "PostTypeId": 2, "ParentId": qid, "Score": score,
                             "CreationDate": f"2023-02-{1 + aid % 28:02d}T12:00:00.000", "Body": f"<p>{html.escape(text, quote=False)}</p>"})
    out = ['<?xml version="1.0" encoding="utf-8"?>', "<posts>"]
    for r in rows:
        out.append("  <row " + " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in r.items()) + " />")
    out.append("</posts>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- eval sets

def choice_items(world, rng, count):
    items = []
    pairs = [(p, f) for p in world.places for f in ["street", "founded", "specialty", "closed"]]
    for i, (p, fact) in enumerate(rng.sample(pairs, count)):
        if fact == "street":
            q, right, pool = f"Which street is {p['name']} on?", p["street"], STREETS
        elif fact == "founded":
            q, right = f"In which year was {p['name']} founded?", str(p["founded"])
            pool = [str(p["founded"] + d) for d in (-37, -12, 9, 26, 44)] + [right]
        elif fact == "specialty":
            q, right, pool = f"What is {p['name']} best known for?", p["specialty"], KINDS[p["kind"]][1]
        else:
            q, right, pool = f"On which day of the week is {p['name']} closed?", p["closed"], DAYS
        wrong = rng.sample([c for c in pool if c != right], 3)
        choices = wrong + [right]
        rng.shuffle(choices)
        items.append({"id": f"choice-{i:03d}", "question": q, "choices": choices, "answer": choices.index(right)})
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="fixtures/demo")
    ap.add_argument("--places", type=int, default=64)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    world = World(rng, args.places)
    os.makedirs(args.out, exist_ok=True)

    # Held-out questions: one fact of every fourth place is never asked in the Q&A dump.
    held_out = {(p["name"], FACTS[i % len(FACTS)]) for i, p in enumerate(world.places) if i % 4 == 0}
    prompts = []
    for i, p in enumerate(world.places):
        if i % 4 == 0:
            fact = FACTS[i % len(FACTS)]
            q = qa(p, fact, random.Random(args.seed * 1000 + i))[0]
            prompts.append({"id": f"prompt-{i:03d}", "prompt": q})
    choices = choice_items(world, rng, 80)

    records = [warc_record("warcinfo", None, b"software: make_demo_data.py\r\nformat: WARC File Format 1.0\r\n",
                           "2024-05-01T00:00:00Z", rng, "application/warc-fields")]
    pages = []
    for i, p in enumerate(world.places):
        slug = p["name"].lower().replace("'", "").replace(" ", "-")
        pages.append((f"https://millbrook.example/shops/{slug}", guide_page(p, rng)))
        if i % 2 == 0:
            pages.append((f"https://millbrook.example/news/{slug}", news_page(p, rng)))
    for k in range(36):
        _, html_text = faq_page(rng.sample(world.places, rng.randrange(5, 9)), rng, held_out)
        pages.append((f"https://millbrook.example/faq/{k}", html_text))
    originals = list(pages)
    for k, (url, text) in enumerate(rng.sample(originals, 20)):            # exact copies at other URLs
        pages.append((url.replace("millbrook.example", "www.millbrook.example") + f"?ref={k}", text))
    for k, (url, text) in enumerate(rng.sample(originals, 20)):            # near copies: a comment and a date added
        near = text.replace("</article>", f"<p>Updated on {rng.randrange(1, 28)} March 2024.</p></article>")
        pages.append((url + f"/print", near))
    for k in range(15):
        pages.append((f"https://deals.example/offer/{k}", spam_page(rng)))
    for k in range(12):
        pages.append((f"https://millbrook.example/tag/{k}", thin_page(rng)))
    # A quiz page that copies eval questions word for word: what `lathe-dedupe --against` is for.
    quiz = "<p>Our Thursday pub quiz at the Mill Inn is open to everyone. Teams of up to four people play for a cake from the bakery, and the questions are always about the town. Here are the questions from last week, with the answers, so you can practise at home.</p>" + "".join(f"<p>{html.escape(c['question'])} Answer: {html.escape(c['choices'][c['answer']])}.</p>" for c in choices[:6])
    pages.append(("https://quizzes.example/millbrook", page("Millbrook pub quiz", quiz, rng, comments=False)))
    rng.shuffle(pages)
    for k, (url, text) in enumerate(pages):
        date = f"2024-05-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}:00Z"
        records.append(warc_record("response", url, http_response(text.encode()), date, rng))
        if k % 60 == 0:  # now and then a payload that is not a page
            records.append(warc_record("response", url + ".png", http_response(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png"), date, rng))
    with open(os.path.join(args.out, "crawl.warc.gz"), "wb") as f:
        f.write(b"".join(records))

    with open(os.path.join(args.out, "Posts.xml"), "w", encoding="utf-8") as f:
        f.write(posts_xml(world, held_out, rng))
    with open(os.path.join(args.out, "choice.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in choices)
    with open(os.path.join(args.out, "prompts.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in prompts)
    with open(os.path.join(args.out, "facts.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in world.places)
    print(f"{len(pages)} pages, {len(world.places)} places, {len(choices)} choice items, {len(prompts)} prompts -> {args.out}")


if __name__ == "__main__":
    main()
