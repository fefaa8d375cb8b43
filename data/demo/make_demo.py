#!/usr/bin/env python3
"""Regenerate the dedup demo batch (data/demo/batch.jsonl and data/demo/gold.csv).

Everything here is invented for the demo: the wire reports, the events, the people,
the companies and the six outlets (cities are real places, nothing else is). The
script holds the hand-written texts and the transformations outlets apply when they
republish wire copy (headline rewrites, dateline variants, truncation, dropped
paragraphs, house style, typographic quotes) and wraps every story in its outlet's
page chrome. It is deterministic: no clock, no unseeded randomness.

    python data/demo/make_demo.py           # writes batch.jsonl + gold.csv, then checks them
    python data/demo/make_demo.py --check   # only re-reads and checks the written files
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import json
import random
import re
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = HERE / "batch.jsonl"
GOLD = HERE / "gold.csv"

UTC = dt.timezone.utc
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
MST = dt.timezone(dt.timedelta(hours=-7))

DAY = dt.datetime(2026, 11, 26, tzinfo=UTC)


def at(hhmm: str, days: int = 0) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return DAY + dt.timedelta(days=days, hours=h, minutes=m)


# --------------------------------------------------------------------------------------
# 1. Wire reports. `dateline` is the agency opening of the first paragraph; `paras[0]`
#    continues after it. Wire house style is kept as the agencies write it (Reuters
#    "pct"/"mln", PTI "per cent", AP em dash), so that outlets have something to rewrite.
# --------------------------------------------------------------------------------------
WIRES: dict[str, dict] = {
    "asia-markets": dict(
        agency="Reuters",
        time=at("05:40"),
        dateline="SINGAPORE, Nov 26 (Reuters) - ",
        headline="Asian shares slip as chipmakers drag; yen firms ahead of Tokyo inflation data",
        paras=[
            "Asian shares slipped on Thursday as a sell-off in chipmakers outweighed gains in Chinese "
            "property developers, while the yen firmed ahead of Japanese inflation figures that traders "
            "say could decide whether Tokyo raises rates again before the year ends.",
            "MSCI's broadest index of Asia-Pacific shares outside Japan was down 0.6 pct by early "
            "afternoon, on track for its third losing session in four. Volumes were thinner than usual "
            "with U.S. markets shut for the Thanksgiving holiday.",
            "Japan's Nikkei lost 0.9 pct, dragged down by a 4.2 pct fall in Hoshida Electronics after "
            "the components maker cut its full-year forecast, citing weaker orders from smartphone "
            "assemblers. South Korea's KOSPI shed 1.1 pct.",
            '"The chip trade was crowded and it only takes one soft guidance number to shake people '
            'out," said Priya Venkataraman, head of Asia equity strategy at Calder Reed Securities in '
            'Singapore. "Nobody is arguing the cycle is over, but positioning was stretched."',
            "Hong Kong's Hang Seng index bucked the trend, rising 0.7 pct as developers rallied on "
            "reports that several mainland cities would further ease home purchase curbs. Shares of "
            "Fengrui Land jumped 6 pct.",
            "In currencies, the yen strengthened 0.4 pct to 148.20 per dollar. Data due on Friday is "
            "expected to show Tokyo core consumer prices rose 2.6 pct in November from a year earlier, "
            "according to a Reuters poll of 17 economists.",
            "Oil prices were steady. Brent crude futures rose 12 cents to $71.48 a barrel, while U.S. "
            "crude was little changed at $67.30 after industry data showed inventories fell by 1.2 mln "
            "barrels last week. Spot gold was flat at $2,041 an ounce.",
            "(Reporting by Daniel Ooi; Editing by Martha Quist)",
        ],
    ),
    "port-strike": dict(
        agency="AFP",
        time=at("09:20"),
        dateline="VALENCIA (AFP) - ",
        headline="Dockworkers walk out at Spain's Valencia port over automation plan",
        paras=[
            "Thousands of dockworkers walked off the job at the Spanish port of Valencia on Thursday, "
            "halting container traffic at one of the Mediterranean's busiest hubs in protest at plans "
            "to automate two of its terminals.",
            "Pickets gathered before dawn at the main gates, and by mid-morning more than 40 ships "
            "were waiting at anchor offshore, according to the port authority. Cranes at all three "
            "container terminals stood idle.",
            "The strike was called by the Coordinadora Portuaria del Levante, a union representing "
            "around 4,800 stevedores, after talks with terminal operators broke down late on Tuesday. "
            "The union says the automation plan would eliminate up to 1,100 jobs over five years.",
            '"They want the machines to work and us to watch from the fence," union spokesman Andres '
            'Molina told AFP outside the port. "We are not against modernisation, but not at any price."',
            "Terminal operator Maregrande Logistics, which is leading the project, said in a statement "
            "that no permanent worker would be dismissed and that it had offered retraining to all "
            'affected staff. It called the stoppage "disproportionate".',
            "Valencia handles roughly five million containers a year and is a key gateway for goods "
            "moving between Asia, the US east coast and central Spain. Citrus exporters, now in peak "
            "season, warned that perishable cargo was already piling up in refrigerated warehouses.",
            "The union has called further 48-hour stoppages for December 3 and December 10 if no "
            "agreement is reached. The regional government has offered to mediate.",
            "Dockers at the ports of Barcelona and Algeciras said they would hold solidarity "
            "assemblies on Friday but stopped short of announcing walkouts of their own.",
        ],
    ),
    "election-count": dict(
        agency="PTI",
        time=at("13:30"),
        dateline="PUNE (PTI) - ",
        headline="Pune civic polls: Nagarik Vikas Aghadi leads as counting enters final rounds",
        paras=[
            "The Nagarik Vikas Aghadi (NVA) was leading in 71 of the 162 wards of the Pune Municipal "
            "Corporation as counting of votes entered its final rounds on Thursday evening, officials said.",
            "The Lok Seva Party (LSP) was ahead in 54 wards, while independents and smaller outfits "
            "led in the remaining 37, according to trends released by election officials.",
            "Counting began at 8 am at 15 centres across the city amid tight security. Over 1,200 "
            "officials were deployed, and results in 96 wards had been formally declared by 6 pm.",
            "Voter turnout in the November 24 polls was 54.3 per cent, up from 49.8 per cent in the "
            "previous civic election, officials said.",
            '"The people of Pune have voted for clean water, better roads and an end to flooding every '
            'monsoon. This is a vote for work, not slogans," NVA city president Sunanda Kulkarni told '
            "reporters outside a counting centre in Shivajinagar.",
            "LSP leader Ramesh Bhonsale said the party would wait for the final results before "
            "commenting, but alleged irregularities at two counting tables in the Hadapsar area and "
            "demanded a recount.",
            "A party or alliance needs 82 seats for a majority in the 162-member house. The mayor will "
            "be elected at the first general body meeting, expected in the second week of December.",
            "The results are being watched closely as a test of the parties' strength ahead of next "
            "year's zilla parishad elections.",
        ],
    ),
    "gulf-storm": dict(
        agency="AP",
        time=at("14:30"),
        dateline="MOBILE, Ala. (AP) \u2014 ",
        headline="Rare late-season tropical storm hits Gulf Coast on Thanksgiving, cutting power to thousands",
        paras=[
            "A rare late-season tropical storm pushed ashore near the Alabama-Mississippi line early "
            "Thursday, knocking out power to more than 180,000 homes and businesses and flooding "
            "low-lying streets on the Thanksgiving holiday.",
            "Tropical Storm Corinne made landfall around 4 a.m. near Bayou La Batre with maximum "
            "sustained winds of 60 mph (95 kph), the National Hurricane Center said. It was expected to "
            "weaken steadily as it moved inland over southern Alabama.",
            "Forecasters warned that the bigger threat was rain. Up to 8 inches (20 centimeters) could "
            "fall in parts of coastal Alabama and the Florida Panhandle through Friday, with flash "
            "flooding possible where the ground was already soaked from storms earlier in the month.",
            '"We had a turkey in the oven when the lights went out," said Denise Harlan, who lives on '
            "Dauphin Island. \"So we packed up the kids and came to my sister's place in town. "
            "Thanksgiving is happening, it's just happening at her house.\"",
            "Mobile city officials opened two shelters overnight and urged residents to stay off the "
            "roads. Police said several downtown intersections were impassable and at least a dozen "
            "vehicles had stalled in standing water. No deaths or serious injuries had been reported "
            "by midmorning.",
            "Tom Reyes, a spokesman for the state emergency management agency, said utility crews from "
            "Georgia, Tennessee and the Carolinas were staged north of Montgomery and would move in as "
            "soon as winds dropped below 40 mph.",
            "Corinne is the 19th named storm of the Atlantic hurricane season, which officially ends "
            "Nov. 30. Storms making landfall on the U.S. Gulf Coast this late in the year are unusual but "
            "not unprecedented.",
            "Utility Gulfshore Power said it expected to restore service to most customers by Saturday "
            "evening.",
        ],
    ),
    "czech-rates": dict(
        agency="Reuters",
        time=at("13:05"),
        dateline="PRAGUE, Nov 26 (Reuters) - ",
        headline="Czech central bank cuts rates to 3.25 pct, signals pause",
        paras=[
            "The Czech National Bank cut its main interest rate by a quarter point to 3.25 pct on "
            "Thursday, as expected, but signalled it was likely to hold borrowing costs steady in the "
            "coming months because wage growth remains strong.",
            "The board voted 5-2 for the cut, with two members favouring no change, the bank said. "
            "Eleven of 14 analysts polled by Reuters had expected a 25 basis point reduction.",
            "Annual inflation slowed to 2.4 pct in October from 2.9 pct in September, close to the "
            "bank's 2 pct target, but core prices and services inflation have proved sticky. Nominal "
            "wages rose 7.1 pct in the third quarter.",
            '"The board sees the room for further easing as limited," the bank said in its policy '
            'statement. "Risks to inflation remain tilted to the upside, particularly from the labour '
            'market and regulated energy prices next year."',
            "The crown firmed 0.3 pct to 24.85 per euro after the decision as markets trimmed bets on "
            "another cut in February. Forward rate agreements priced in less than 10 basis points of "
            "easing over the next six months.",
            '"It\'s a hawkish cut. The message is clear: this is the last one for a while," said Lukas '
            'Bartos, chief economist at Moravia Capital in Prague. "We now see rates on hold until at '
            'least the second quarter."',
            "The bank's updated forecast sees economic growth of 1.8 pct next year, up from 1.5 pct "
            "seen previously, driven by household consumption. It expects the state budget deficit to "
            "narrow to about 2.3 pct of GDP.",
            "(Reporting by Jan Lorenc; Writing by Anna Wisniak; Editing by Peter Gale)",
        ],
    ),
    "chip-earnings": dict(
        agency="AP",
        time=at("11:15"),
        dateline="SAN JOSE, Calif. (AP) \u2014 ",
        headline="Lumora Systems beats forecasts as demand for its data center chips surges",
        paras=[
            "Lumora Systems said its revenue jumped 38% in the latest quarter, beating Wall Street's "
            "expectations as cloud companies kept pouring money into data centers built for "
            "artificial intelligence.",
            "The San Jose-based chipmaker reported late Wednesday that it earned $412 million, or $1.06 "
            "per share, in the three months that ended Oct. 31, up from $251 million, or 65 cents per "
            "share, a year earlier. Revenue rose to $2.31 billion.",
            "Analysts, on average, had expected earnings of 94 cents per share on revenue of $2.18 "
            "billion.",
            '"Every customer we talk to is trying to get more computing out of the same power budget, '
            'and that is exactly what our parts are built for," CEO Renata Solis said on a call with '
            "analysts.",
            "Lumora forecast revenue of $2.45 billion to $2.55 billion for the current quarter, above "
            "analysts' estimates. The company also announced a $1.5 billion share buyback program.",
            "Shares of Lumora rose 9% in after-hours trading Wednesday. The stock has more than doubled "
            "this year.",
            "Not everything was rosy. Sales of chips for personal computers fell 12% from a year "
            "earlier, and the company said gross margins would dip slightly in the coming quarter as it "
            "ramps up production at a new packaging plant in Penang, Malaysia.",
            "Lumora, founded in 2011, employs about 6,400 people worldwide. It competes with much "
            "larger rivals in the market for networking and accelerator chips.",
        ],
    ),
    "football-transfer": dict(
        agency="AFP",
        time=at("16:45"),
        dateline="LISBON (AFP) - ",
        headline="Brazilian midfielder Renner joins Atletico Tejo in club-record deal",
        paras=[
            "Brazilian midfielder Caio Renner has joined Atletico Tejo from Estrela do Norte for a "
            "club-record fee of 32 million euros ($37 million), the Lisbon side announced on Thursday.",
            "The 23-year-old signed a contract running until June 2031 and will be available when the "
            "transfer window opens in January. The deal includes a release clause of 90 million euros, "
            "Tejo said in a statement.",
            "Renner, who moved to Porto-based Estrela from Brazilian club Uniao Serrana three years ago, "
            "has scored nine goals and provided 14 assists in 61 appearances.",
            '"It is a dream to wear this shirt. I grew up watching this club on television in Belo '
            'Horizonte," Renner said at his presentation at the Estadio da Margem.',
            'Tejo coach Vitor Almada described him as "the player we have been chasing for two years", '
            'adding that he could play "as a number six or a number eight".',
            "The fee surpasses the 24 million euros Tejo paid for Uruguayan striker Matias Ferran in 2024.",
            "Estrela will keep 15 percent of any future sale, according to the Portuguese sports press. "
            "The Porto club, third in the league, has sold four first-team players in the past year to "
            "ease its debts.",
            "Tejo, who are second, two points behind the leaders, host Estrela in the league in February.",
        ],
    ),
    "dengue-vaccine": dict(
        agency="PTI",
        time=at("07:10"),
        dateline="HYDERABAD (PTI) - ",
        headline="Hyderabad firm's dengue vaccine shows 79 pc efficacy in phase 3 trial",
        paras=[
            "City-based Sarvani Biologics on Thursday said its dengue vaccine candidate showed 79.2 per "
            "cent efficacy against symptomatic disease in a late-stage trial involving over 10,000 "
            "volunteers across India.",
            "The two-dose vaccine, SVB-D4, protected against all four dengue serotypes, though "
            "protection was lower against serotype 3, the company said in a statement.",
            "The phase 3 trial was conducted at 19 sites in eight states, including Telangana, "
            "Maharashtra, Kerala and Odisha, between July 2024 and September 2026. Participants were "
            "aged between 4 and 60 years.",
            "Efficacy against hospitalisation was 88.5 per cent, the company said, adding that no "
            "serious safety concerns were identified. The most common side effects were pain at the "
            "injection site and mild fever.",
            '"Dengue cases have been rising every year and there is no widely available vaccine suited '
            'to Indian conditions. These results bring us closer to changing that," Sarvani Biologics '
            "managing director Lakshmi Pulla said.",
            "The company plans to submit the data to the drug regulator by March and has built capacity "
            "to produce 60 million doses a year at its facility on the outskirts of the city, it said.",
            "The trial was partly funded by a government research grant.",
            "Shares of Sarvani Biologics closed 7.4 per cent higher at Rs 1,286 on the BSE.",
        ],
    ),
}

# Republished copies: (wire, outlet, headline, minutes after the wire, options).
#   keep=n      only the first n paragraphs     drop=[i]   paragraphs removed
#   dateline=   the outlet's dateline           verbatim   wire headline and text untouched
#   html        body is a full HTML page        days=2     published two days later
COPIES = [
    # asia-markets: 5 copies
    ("asia-markets", "mbd", "Asian stocks slip as chip sell-off outweighs China property rally", 25,
     dict(drop=[7])),
    ("asia-markets", "kt", "Asian shares dip as chipmakers weigh; yen firms before Tokyo CPI", 40,
     dict(drop=[7])),
    ("asia-markets", "nn", "Chip stocks drag Asian markets lower ahead of Japan inflation data", 95,
     dict(keep=3, dateline="SINGAPORE (Reuters) - ")),
    ("asia-markets", "dq", "Asian markets slip as chip stocks drag; Hang Seng gains on property rally", 70,
     dict(drop=[6], dateline="Singapore, Nov 26 (Reuters) ")),
    ("asia-markets", "vc", "Asian stocks fall as chipmakers slide", 150,
     dict(keep=2, dateline="SINGAPORE (Reuters) \u2014 ")),
    # port-strike: 4 copies, one of them two days late
    ("port-strike", "kt", "Valencia port paralysed as dockworkers strike over automation", 35, {}),
    ("port-strike", "nn", "Spanish dockworkers halt Valencia port in automation dispute", 80,
     dict(keep=2, dateline="Valencia, Spain (AFP) - ")),
    ("port-strike", "hl", "Strike idles one of the Mediterranean's busiest ports", 130,
     dict(drop=[7], dateline="VALENCIA, Spain (AFP) - ")),
    ("port-strike", "vc", "Spanish port strike strands ships and citrus cargo", 410,
     dict(keep=6, days=2, dateline="VALENCIA, Spain (AFP) \u2014 ")),  # 2 days late
    # election-count: 3 copies
    ("election-count", "dq", "Pune civic body polls: NVA surges ahead, LSP demands recount", 20,
     dict(dateline="Pune, Nov 26 (PTI) ")),
    ("election-count", "kt", "NVA leads in Pune civic poll count as rival alleges irregularities", 55,
     dict(drop=[7])),
    ("election-count", "mbd", "Pune municipal results: NVA ahead in 71 of 162 wards", 90,
     dict(keep=3, dateline="PUNE: ")),
    # gulf-storm: 6 copies, two of them verbatim
    ("gulf-storm", "vc", None, 15, dict(verbatim=True)),
    ("gulf-storm", "hl", None, 22, dict(verbatim=True)),
    ("gulf-storm", "nn", "Tropical Storm Corinne knocks out power to 180,000 on Gulf Coast", 45,
     dict(dateline="MOBILE, Alabama (AP) \u2014 ")),
    ("gulf-storm", "kt", "Rare late-season storm slams US Gulf Coast on Thanksgiving Day", 60,
     dict(drop=[4], dateline="MOBILE, Alabama (AP) - ")),
    ("gulf-storm", "dq", "US: Tropical Storm Corinne makes landfall in Alabama, lakhs without power", 110,
     dict(keep=3, dateline="Mobile (US), Nov 26 (AP) ")),
    ("gulf-storm", "mbd", "Storm Corinne cuts power to Gulf Coast homes as utilities scramble", 140,
     dict(keep=2, dateline="(AP) \u2014 ")),
    # czech-rates: 4 copies
    ("czech-rates", "mbd", "Czech central bank trims rates to 3.25 percent, signals pause", 12,
     dict(drop=[7])),
    ("czech-rates", "nn", "Czech central bank delivers 'hawkish cut', flags pause", 50,
     dict(keep=3, dateline="PRAGUE (Reuters) - ")),
    ("czech-rates", "kt", "Czech National Bank cuts rates by a quarter point as expected", 30,
     dict(drop=[6])),
    ("czech-rates", "dq", "Czech central bank cuts key rate to 3.25 per cent", 75,
     dict(dateline="Prague, Nov 26 (Reuters) ")),
    # chip-earnings: 5 copies, one an HTML page
    ("chip-earnings", "mbd", "Lumora Systems tops estimates as AI data center demand lifts revenue 38%", 20,
     dict(html=True)),
    ("chip-earnings", "vc", "Lumora Systems tops estimates on AI data center demand", 35, {}),
    ("chip-earnings", "hl", "San Jose chipmaker Lumora posts 38% revenue jump", 65,
     dict(keep=3, dateline="SAN JOSE, California (AP) \u2014 ")),
    ("chip-earnings", "nn", "Lumora shares jump after strong quarter, upbeat outlook", 100,
     dict(drop=[7], dateline="(AP) \u2014 ")),
    ("chip-earnings", "kt", "Lumora Systems quarterly revenue up 38% as AI spending surges", 125,
     dict(dateline="SAN JOSE, California (AP) - ")),
    # football-transfer: 3 copies
    ("football-transfer", "nn", "Atletico Tejo sign Brazil's Caio Renner for club-record fee", 30, {}),
    ("football-transfer", "dq", "Brazilian midfielder Caio Renner joins Atletico Tejo for 32 mn euros", 50,
     dict(keep=4, dateline="Lisbon, Nov 26 (AFP) ")),
    ("football-transfer", "kt", "Tejo smash transfer record to land Renner", 75,
     dict(drop=[5], dateline="LISBON, Portugal (AFP) - ")),
    # dengue-vaccine: 4 copies
    ("dengue-vaccine", "dq", "Sarvani Biologics' dengue vaccine shows 79.2% efficacy in late-stage trial", 25,
     dict(dateline="Hyderabad, Nov 26 (PTI) ")),
    ("dengue-vaccine", "kt", "Indian dengue vaccine candidate 79% effective in phase 3 trial", 60,
     dict(drop=[6])),
    ("dengue-vaccine", "mbd", "Sarvani Biologics shares jump 7% on dengue vaccine data", 95,
     dict(keep=3)),
    ("dengue-vaccine", "hl", "Dengue vaccine from Indian drugmaker shows strong trial results", 200,
     dict(keep=2, dateline="HYDERABAD, India (PTI) - ")),
]

# --------------------------------------------------------------------------------------
# 2. Unrelated single stories (local news), two per outlet, plus two HTML pages.
# --------------------------------------------------------------------------------------
SINGLES = [
    dict(outlet="hl", time=at("11:05"), headline="Harbor commission backs $14 million overhaul of island ferry terminal",
         paras=[
             "PORTLAND \u2014 The Portland Harbor Commission voted 4-1 on Wednesday night to move ahead with a "
             "$14 million renovation of the island ferry terminal, ending more than two years of debate over "
             "how to replace the aging waiting room and passenger ramps.",
             "The plan calls for a two-story waiting area with heated seating for 220 passengers, a covered "
             "bicycle shelter and a second boarding ramp so that two boats can load at once during the summer "
             "rush. Construction would begin in September and take about 18 months, with service continuing "
             "from a temporary float.",
             "Commissioner Alice Thibodeau, who cast the lone vote against, said she supported the upgrade but "
             'worried that the estimate did not account for rising steel prices. "I have watched three projects '
             'on this waterfront come in over budget," she said. "I would like to see a firm bid before we commit."',
             "Island residents who packed the meeting largely welcomed the decision. Maureen Gallant of Peaks "
             'Island said the current ramp turns dangerously slick in winter. "We have been asking for this for '
             'a decade," she said.',
             "About $9 million of the cost is expected to come from a federal port infrastructure grant, with "
             "the rest split between the city and a bond approved by voters in 2024. The commission will seek "
             "construction bids in the spring.",
         ]),
    dict(outlet="hl", time=at("16:20"), headline="Pine Point fishing co-op opens its own ice plant on the wharf",
         paras=[
             "SCARBOROUGH \u2014 Members of the Pine Point Fishermen's Cooperative cut the ribbon Tuesday on a new "
             "ice plant that they say will save local boats hours of driving and thousands of dollars each season.",
             "Until now, the co-op's 38 boats have bought ice from a supplier in Portland, trucking it down "
             "Route 1 before dawn in the busy months. The new plant, housed in a converted bait shed, can make "
             "up to 12 tons of flake ice a day.",
             '"Fresh ice right at the dock means fresher fish at the market, and that means a better price for '
             'our guys," said co-op manager Dana Whitcomb.',
             "The $640,000 project was paid for with member dues, a low-interest state loan and a grant from a "
             "regional fisheries fund. Whitcomb said the co-op plans to sell surplus ice to charter boats "
             "next summer.",
         ]),
    dict(outlet="kt", time=at("08:30"), headline="Norwich library reopens eight months after basement flood",
         paras=[
             "Millgate Library in Norwich reopened to the public on Wednesday, eight months after a burst water "
             "main flooded its basement and destroyed around 6,000 books.",
             "The building closed in March when water rose almost a metre on the lower floor, which housed the "
             "children's section and the local history archive. Staff and volunteers spent several days carrying "
             "boxes of records to dry storage at County Hall.",
             "Most of the archive was saved, but many picture books and large-print titles could not be rescued. "
             "The library has since received more than 2,300 donated books from residents and schools.",
             '"It has been a long wait, and we are so grateful for the patience of our regulars," said branch '
             'manager Helen Okafor. "The children\'s corner is bigger and brighter than before, and it now sits '
             'upstairs, well out of harm\'s way."',
             "The repairs cost \u00a3410,000 and were covered by the council's insurance. Opening hours return to "
             "normal from Monday, with a reading morning for under-fives planned for Saturday.",
         ]),
    dict(outlet="kt", time=at("18:10"), headline="Councillors approve 20mph limit for Norwich city centre",
         paras=[
             "A 20mph speed limit will cover most streets inside Norwich's inner ring road from next spring "
             "after councillors approved the plan on Tuesday night by 27 votes to 11.",
             "The scheme, which will cost about \u00a31.2 million, includes new signs, raised crossings outside "
             "three primary schools and narrower junctions on Magdalen Street and Prince of Wales Road.",
             "Supporters said the change would cut collisions and make walking and cycling safer. Council "
             "figures show 64 people were injured on city centre roads last year, nine of them seriously.",
             "Opposition councillor Graham Pettit said the limit would slow buses and deliveries and had been "
             '"pushed through without listening to businesses". A petition against the plan gathered 1,900 '
             "signatures.",
             "Enforcement will be carried out by police with the help of two average-speed cameras. The council "
             "said it would review the results after 12 months.",
         ]),
    dict(outlet="mbd", time=at("02:15"), headline="Bakery chain Crumb & Kettle to open five outlets, eyes Kuala Lumpur",
         paras=[
             "Homegrown bakery chain Crumb & Kettle plans to open five more outlets in Singapore by the end of "
             "next year and make its first move overseas with a flagship store in Kuala Lumpur, its founders "
             "said on Thursday.",
             "The company, which runs 14 outlets across the island, said the expansion would be funded by a "
             "S$12 million round led by family office Tembusu Hill Capital, with existing investors also "
             "taking part.",
             "Co-founder Marcus Teo said revenue grew about 31 percent in the financial year ended June, helped "
             "by a push into corporate catering and a range of reduced-sugar pastries. The chain turned a profit "
             "for the first time last year.",
             '"Rents are still high and staff are hard to find, so we are choosing locations carefully," Mr Teo '
             'said. "Heartland malls are where we see the strongest weekday traffic."',
             "The new outlets will be in Punggol, Jurong East, Tampines, Bishan and Woodlands, creating around "
             "90 jobs. The Kuala Lumpur store is slated to open in the third quarter.",
         ]),
    dict(outlet="mbd", time=at("04:50"), headline="CBD office vacancy creeps up to 8.1 percent as new towers open",
         paras=[
             "Vacancy in Singapore's core central business district office market rose to 8.1 percent in the "
             "third quarter from 7.6 percent three months earlier, as two newly completed towers added space "
             "faster than tenants could absorb it, property consultancy Hallbrook Partners said on Thursday.",
             "Average monthly gross rents for Grade A space slipped 0.4 percent quarter on quarter to S$11.62 "
             "per square foot, the first decline in seven quarters.",
             "Demand was led by insurers, wealth managers and law firms, while several technology companies "
             "handed back space as they settled into hybrid work, the report said.",
             '"Landlords of older buildings are feeling the pressure most. We are seeing more generous fit-out '
             'incentives and rent-free periods to keep tenants," said Hallbrook head of research Denise Koh.',
             "Hallbrook expects vacancy to peak at around 8.5 percent in mid-2027 before easing as the pipeline "
             "of new completions thins out.",
         ]),
    dict(outlet="vc", time=at("15:40"), headline="Water district approves 9% rate increase to replace aging pipes",
         paras=[
             "BOISE \u2014 Customers of the Boise Bench Water District will pay about $4.80 more a month starting "
             "in January after the district's board approved a 9% rate increase Tuesday night.",
             "The board voted 3-2 for the increase, which district officials say is needed to replace roughly "
             "11 miles of cast iron pipe laid in the 1950s and 1960s. The district recorded 47 main breaks last "
             "year, nearly double the number a decade ago.",
             '"Every one of those breaks is a street torn up, a neighborhood without water and an emergency crew '
             'on overtime," said general manager Rick Albright. "Planned replacement is cheaper than waiting for '
             'the next failure."',
             "Board member Teresa Nguyen, who voted no, said she favored a smaller increase spread over three "
             "years to ease the burden on retirees and families on fixed incomes.",
             "The district will offer a discount of up to 30% for qualifying low-income households. Customers "
             "can apply online or at the district office on Overland Road beginning Dec. 15.",
         ]),
    dict(outlet="vc", time=at("06:05"), headline="Ridgecrest rallies in fourth quarter to reach state semifinals",
         paras=[
             "NAMPA \u2014 Ridgecrest High School scored 17 points in the fourth quarter to beat Canyon Falls 31-24 "
             "on Wednesday night and advance to the 5A state football semifinals for the first time since 2009.",
             "Trailing 24-14 entering the final period, the Hawks tied the game on a 36-yard field goal by junior "
             "Emilio Vargas and a 12-yard touchdown pass from quarterback Jace Dunning to Marcus Hale.",
             "Dunning, who finished with 142 rushing yards, scored the go-ahead touchdown on a 4-yard run with "
             "3:10 left, and linebacker Tobias Greer sealed the win with an interception at the Ridgecrest "
             "20-yard line in the final minute.",
             '"Nobody on our sideline flinched at halftime. These kids believe in each other," coach Dale '
             "Whitaker said.",
             "Ridgecrest (10-2) will face top-seeded Highland Ridge next week at a neutral site to be announced "
             "by the state athletic association.",
         ]),
    dict(outlet="nn", time=at("17:30"), headline="City expands winter overnight parking ban to 40 more streets",
         paras=[
             "Thunder Bay will extend its overnight winter parking ban to 40 more residential streets this "
             "season after complaints that parked cars were slowing snow clearing, city council decided Monday.",
             "The ban, which runs from 1 a.m. to 7 a.m. between Dec. 1 and March 31, previously applied mainly "
             "to arterial roads and the downtown cores. Vehicles left on affected streets can be ticketed $75 "
             "and towed during a declared snow event.",
             "Roads manager Kyle Ostrowski told council that plow operators lost an estimated 600 hours last "
             "winter working around parked vehicles on narrow streets in the Current River and Westfort "
             "neighbourhoods.",
             "Coun. Marie Lapointe, who supported the change, said residents without driveways would be able "
             "to park overnight in five municipal lots free of charge.",
             "The city will post the full list of affected streets online and mail notices to homes in the new "
             "zones next week.",
         ]),
    dict(outlet="nn", time=at("20:15"), headline="Volunteers plant 400 trees along Current River trail",
         paras=[
             "More than 120 volunteers turned out in cold drizzle on the weekend to plant 400 native trees and "
             "shrubs along a stretch of the Current River trail that was stripped bare by last spring's ice jams.",
             "The planting, organized by the Lakehead Greenway Society, included white spruce, red osier "
             "dogwood and balsam poplar, chosen for their ability to hold the riverbank together during the "
             "spring runoff.",
             '"We lost a lot of the bank in April and the trail was closed for weeks. These roots will do more '
             'than any retaining wall," said society chair Nora Bjornson.',
             "The society received $18,000 from a provincial community grant for the project and plans a second "
             "planting in May. Local schools will adopt sections of the trail to water and monitor the "
             "saplings through the summer.",
         ]),
    dict(outlet="dq", time=at("04:35"), headline="Lucknow civic body seizes 142 kg of single-use plastic in week-long drive",
         paras=[
             "Lucknow: The Lucknow Municipal Corporation seized 142 kg of banned single-use plastic and "
             "collected fines of over Rs 1.6 lakh from 318 shops during a week-long enforcement drive that "
             "ended on Wednesday, officials said.",
             "Teams from the health department and zonal offices inspected markets in Aminabad, Chowk, "
             "Hazratganj and Alambagh, where carry bags, plastic cups and thermocol plates were found in large "
             "quantities, according to a statement.",
             "Additional municipal commissioner Anil Srivastava said the drive would be repeated every month "
             "and that repeat offenders could have their trade licences suspended.",
             '"Shopkeepers tell us customers demand plastic bags. We are also asking residents to carry cloth '
             'bags when they go to the market," he said.',
             "The corporation has set up 12 stalls near major markets where cloth and jute bags made by women's "
             "self-help groups are sold at subsidised rates.",
         ]),
    dict(outlet="dq", time=at("10:25"), headline="Jaipur: Restoration of 19th-century stepwell in walled city to be completed by March",
         paras=[
             "Jaipur: Restoration work on the Sukhniwas Baori, a 19th-century stepwell in the walled city, is "
             "70 per cent complete and the structure will be opened to visitors by March next year, officials "
             "said on Thursday.",
             "The five-storey stepwell had been filled with silt and garbage for decades. Around 900 truckloads "
             "of debris have been removed since the project began in January, revealing carved pillars and a "
             "flight of 108 steps.",
             "The Rs 4.8-crore project is being carried out by the state archaeology department with support "
             "from a private heritage trust. Traditional lime mortar is being used instead of cement to repair "
             "the sandstone walls.",
             '"When we started, people did not even know there was a stepwell here. Now residents come every '
             'evening to watch the work," project engineer Kavita Mathur said.',
             "Officials said the stepwell would also be used to recharge groundwater, with rainwater from "
             "nearby rooftops channelled into it during the monsoon.",
         ]),
]

HTML_SINGLES = [
    dict(outlet="nn", time=at("19:05"), headline="Power restored to 3,200 Westfort homes after substation fire", html=True,
         paras=[
             "Power has been restored to about 3,200 homes and businesses in Westfort after a fire at a "
             "substation cut electricity for nearly nine hours on Wednesday, the local utility, Superior Lakes "
             "Power, said.",
             "The fire broke out at about 5:30 a.m. in a transformer at the Frederica Street substation. "
             "Firefighters had it under control within an hour, and no one was hurt.",
             "Crews rerouted supply through neighbouring circuits and had the last customers back on by "
             "2:15 p.m. The cause of the fire is under investigation.",
             "Residents on several streets said they spent the morning in a nearby community centre, where "
             "volunteers handed out coffee and charged phones.",
             "The utility said customers who lost food in their freezers can apply for compensation through its "
             "website until Dec. 31.",
         ]),
    dict(outlet="vc", time=at("21:30"), headline="Downtown Boise bookstore marks 50 years with a block party", html=True,
         paras=[
             "BOISE \u2014 Cottonwood Books will close off a block of 8th Street on Saturday to celebrate its 50th "
             "anniversary with live music, readings and a used-book sale, owner Lydia Marsh said.",
             "Marsh's parents opened the shop in a former shoe store in 1976 with about 2,000 books. It now "
             "stocks more than 40,000 titles and hosts weekly story times and a monthly poetry night.",
             '"Every few years someone tells us bookstores are finished, and every few years this community '
             'proves them wrong," Marsh said.',
             "Local authors will read from new work throughout the afternoon, and two food trucks will park at "
             "the corner of 8th and Bannock streets.",
             "The party runs from noon to 6 p.m. Proceeds from the used-book sale will go to a county adult "
             "literacy program.",
         ]),
]

# --------------------------------------------------------------------------------------
# 3. Briefs. rail-works and milk-recall each run unchanged in two outlets; rail-update
#    shares its first sentence with rail-works but is a different story (a singleton).
# --------------------------------------------------------------------------------------
RAIL_FIRST = ("Commuter rail services between Union Station and Riverside will be suspended this weekend "
              "for signal upgrades, the transit authority said.")
BRIEFS = [
    dict(cluster="brief-rail-works", outlets=[("kt", at("09:50")), ("nn", at("10:40"))],
         headline="Weekend rail closure for signal upgrades",
         paras=[RAIL_FIRST + " Replacement buses will run every 15 minutes from both stations, and rail "
                "tickets will be accepted. Normal service resumes Monday."]),
    dict(cluster="brief-milk-recall", outlets=[("hl", at("13:55")), ("vc", at("14:20"))],
         headline="Brookfield Farms recalls 2% milk over faulty seals",
         paras=["Brookfield Farms is recalling half-gallon cartons of its 2% milk with a sell-by date of "
                "Dec. 4 because some may not have been sealed properly, the company said. No illnesses have "
                "been reported. Customers can return the cartons for a full refund."]),
    dict(cluster=None, outlets=[("vc", at("19:45"))],
         headline="Riders fume over third weekend rail shutdown since September",
         paras=[RAIL_FIRST + " It is the third weekend closure since September. A riders' group criticized "
                "the short notice and asked for refunds for monthly pass holders."]),
]

# --------------------------------------------------------------------------------------
# 4. Outlets: house style, header/inline/footer chrome, URL pattern, time zone.
# --------------------------------------------------------------------------------------
AGENCY_NAMES = {"Reuters": "Reuters", "AFP": "Agence France-Presse", "AP": "Associated Press",
                "PTI": "Press Trust of India"}


def curly(s: str) -> str:
    """Typographic quotes: opening after whitespace or bracket, closing otherwise."""
    out = []
    for i, ch in enumerate(s):
        prev = s[i - 1] if i else " "
        if ch == '"':
            out.append("\u201c" if prev in " \t([\u2014-" else "\u201d")
        elif ch == "'":
            out.append("\u2018" if prev in " \t([\u2014" else "\u2019")
        else:
            out.append(ch)
    return "".join(out)


def us_dotted(s: str) -> str:
    return re.sub(r"\bUS\b", "U.S.", s).replace("U.S..", "U.S.")


def us_plain(s: str) -> str:
    return s.replace("U.S.", "US")


def subs(*pairs):
    def f(s: str) -> str:
        for pat, rep in pairs:
            s = re.sub(pat, rep, s)
        return s
    return f


STYLE = {
    "hl": [],
    "kt": [curly],
    "mbd": [subs((r"\bpct\b", "percent"), (r"\bper cent\b", "percent"), (r"\bmln\b", "million"))],
    "vc": [us_dotted, subs((r"\bper cent\b", "percent")), curly],
    "nn": [us_plain],
    "dq": [subs((r"\bpct\b", "per cent"), (r"\bmln\b", "million"))],
}

HL_SUBSCRIBE = [
    "SUBSCRIBE TO THE HARBOR LEDGER",
    "Local journalism takes time, and it takes readers like you. Get unlimited access to the stories "
    "that matter on the waterfront, at City Hall and in your neighborhood.",
    "Digital Basic \u2014 $1 for 6 months, then $11.99/month",
    "\u2022 Unlimited articles on harborledger.com and the Ledger app",
    "\u2022 The daily e-Edition, a page-by-page replica of the print paper",
    "\u2022 Morning Tide, our newsletter with the news you need before 7 a.m.",
    "Digital Premium \u2014 $179/year SAVE 25%",
    "\u2022 Everything in Digital Basic",
    "\u2022 Crosswords, puzzles and the complete archive back to 1887",
    "\u2022 Fewer ads and invitations to subscriber-only events",
    "\u2022 Share up to 10 gift articles a month with friends and family",
    "Print + Digital \u2014 $8.50/week",
    "\u2022 Seven-day home delivery in Cumberland and York counties",
    "\u2022 All Digital Premium benefits included at no extra cost",
    "\u2022 The Sunday Ledger with coupons and the weekend magazine",
    "Renews automatically, cancel anytime. Taxes may apply. Introductory offers are for new subscribers "
    "only and cannot be combined with other offers.",
    "Students and teachers save 50% with a valid school email address.",
    "Give the gift of local news: gift subscriptions start at $29.",
    "Already a subscriber? Log in or link your print account to your digital access.",
    "Questions? Call Customer Care at 1-800-555-0143, Monday to Friday, 7 a.m. to 5 p.m., or chat with us online.",
]

MBD_SUBSCRIBE = [
    "UNLOCK MBD PRO",
    "This article is free to read. Most of what we publish is not. Subscribe for the stories that move "
    "markets, before they move.",
    "MBD Digital \u2014 S$0.99 for the first month, then S$29.90/month",
    "\u2713 Unlimited access to metrobusinessdaily.com and the MBD app",
    "\u2713 The Morning Brief and Closing Bell newsletters",
    "\u2713 Full archive of company results coverage since 2006",
    "MBD Pro Annual \u2014 S$299/year SAVE 25%",
    "\u2713 Everything in MBD Digital",
    "\u2713 Real-time regional market data, watchlists and price alerts",
    "\u2713 Exclusive analyst roundtables and quarterly outlook webinars",
    "\u2713 Five gift articles to share every month",
    "MBD Pro + Print \u2014 S$42.90/month",
    "\u2713 Weekday print edition delivered to your office or home",
    "\u2713 The Weekend Edition with the Wealth and Property supplements",
    "Corporate plans are available for teams of five or more. Talk to our enterprise sales team.",
    "Renews automatically, cancel anytime. Prices include GST. Terms and conditions apply.",
    "Students get 60% off with a valid university email address.",
    "Can I cancel anytime? Yes. Cancel online in two clicks from your account page and keep access until "
    "the end of your billing period.",
    "Can I share my subscription? Each subscription includes one login. Family and team plans are available.",
    "Already a subscriber? Log in",
]

TRENDING_FILLER = {
    "hl": ["Portland restaurant week returns in January with 60 participants",
           "High school hockey preview: Five teams to watch this winter",
           "Letters: Readers weigh in on the Fore River bridge plan"],
    "kt": ["Christmas market opening hours announced for the city centre",
           "Watch: seal pup rescued from Norfolk beach by volunteers",
           "Energy price cap to rise again in January, regulator says"],
    "mbd": ["Local shares end flat as banks offset REIT weakness",
            "Five dividend stocks analysts like for 2027",
            "Budget 2027 wishlist: SMEs seek relief on energy costs"],
    "vc": ["Where to find Thanksgiving buffets around the Treasure Valley",
           "Road work to close Eagle Road lanes overnight next week",
           "Weather: Clear and cold through the weekend"],
    "nn": ["Thunder Bay weather: flurries return Friday",
           "Ice fishing season: how thick is safe?",
           "Grain shipments through the port hit five-year high"],
    "dq": ["Gold, silver prices today: check rates in your city",
           "Weather update: cold wave alert issued for north India",
           "Petrol, diesel prices unchanged; check latest rates"],
}


def fmt_time(t: dt.datetime, style: str) -> str:
    if style == "gmt":
        return t.astimezone(UTC).strftime("%-d %b %Y, %H:%M GMT")
    if style == "ist":
        return t.astimezone(IST).strftime("%b %-d, %Y, %-I:%M %p IST")
    raise ValueError(style)


class Outlet:
    def __init__(self, code, name, domain, tz, url):
        self.code, self.name, self.domain, self.tz, self.url_fn = code, name, domain, tz, url

    def url(self, s):
        return self.url_fn(s)


def slug(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", h.lower()).strip("-")[:70].rstrip("-")


OUTLETS = {
    "hl": Outlet("hl", "The Harbor Ledger", "harborledger.com", UTC,
                 lambda s: f"https://www.harborledger.com/{s['t'].strftime('%Y/%m/%d')}/{slug(s['headline'])}/"),
    "kt": Outlet("kt", "Kestrel Times", "kestreltimes.co.uk", UTC,
                 lambda s: f"https://www.kestreltimes.co.uk/news/{slug(s['headline'])}/article{s['num']}.ece"),
    "mbd": Outlet("mbd", "Metro Business Daily", "metrobusinessdaily.com", UTC,
                  lambda s: f"https://www.metrobusinessdaily.com/{s['section']}/{slug(s['headline'])}-{s['num']}"),
    "vc": Outlet("vc", "Valley Courier", "valleycourier.com", MST,
                 lambda s: f"https://www.valleycourier.com/{s['section']}/article_{s['num']}.html"),
    "nn": Outlet("nn", "Northline News", "northlinenews.ca", UTC,
                 lambda s: f"https://northlinenews.ca/{s['section']}/{s['num']}/{slug(s['headline'])}"),
    "dq": Outlet("dq", "Daily Quill", "dailyquill.in", IST,
                 lambda s: f"https://www.dailyquill.in/{s['section']}/{slug(s['headline'])}-{s['num']}.html"),
}
ID_BASE = {"hl": 70412, "kt": 88310, "mbd": 15207, "vc": 30981, "nn": 52640, "dq": 91873}
WIRE_SECTION = {"asia-markets": "markets", "port-strike": "world", "election-count": "india",
                "gulf-storm": "world", "czech-rates": "economy", "chip-earnings": "tech",
                "football-transfer": "sports", "dengue-vaccine": "health"}


def rng_for(s) -> random.Random:
    return random.Random(zlib.crc32(s["id"].encode()))


def others(s, stories, n, rng):
    pool = [o["headline"] for o in stories if o["outlet"] == s["outlet"] and o is not s]
    pool += TRENDING_FILLER[s["outlet"]]
    return rng.sample(sorted(set(pool)), n)


def chrome(s, stories):
    """Return (header lines, [(after_paragraph_index, line)], footer lines) for a story."""
    o, rng = s["outlet"], rng_for(s)
    synd = s["agency"] is not None
    n = len(s["paras"])
    if o == "hl":
        head = ["The Harbor Ledger", "Skip to content",
                "Local | Business | Waterfront | Sports | Opinion | Obituaries | e-Edition",
                f"You have {rng.randint(1, 4)} free articles remaining this month."]
        inline = [(2, "Advertisement")] if n > 3 else []
        foot = []
        if synd:
            foot.append(f"This story was distributed by {AGENCY_NAMES[s['agency']]}.")
        foot += ["Share this article: Facebook | X | Email | Copy link"] + HL_SUBSCRIBE + [
            "\u00a9 2026 The Harbor Ledger, a Pinecrest Media company. All rights reserved."]
    elif o == "kt":
        head = ["KESTREL TIMES", "Sign In | Register | e-Paper",
                f"First Published: {fmt_time(s['t'], 'gmt')}"]
        inline = [(3, "ADVERTISEMENT")] if n > 4 else []
        foot = []
        if synd:
            foot.append("Disclaimer: No Kestrel Times journalist was involved in the creation of this content")
        foot += ["Follow Kestrel Times on WhatsApp and Google News for the latest updates.", "Next Story",
                 "Trending now"] + others(s, stories, 4, rng) + ["\u00a9 Kestrel Times Media Ltd 2026"]
    elif o == "mbd":
        head = ["Metro Business Daily", "Markets | Companies | Economy | Property | Tech | Opinion | MBD Pro",
                f"Listen to this article \u00b7 {max(1, n // 2 + rng.randint(0, 1))} min"]
        inline = [(2, "READ MORE: " + others(s, stories, 1, rng)[0])] if n > 3 else []
        foot = ["Disclaimer: This article is for general information only and does not constitute "
                "investment advice."] + MBD_SUBSCRIBE + [
            "Share: LinkedIn | X | WhatsApp | Email | Gift this article",
            "\u00a9 2026 Metro Business Daily Pte Ltd. Co. Reg. No. 200601234K"]
    elif o == "vc":
        head = ["Valley Courier", "Serving the Treasure Valley since 1911"]
        inline = [(3, "Advertisement")] if n > 4 else []
        foot = []
        if s["agency"] == "AP":
            foot.append("The Associated Press contributed to this report.")
        elif synd:
            foot.append(f"Distributed by {AGENCY_NAMES[s['agency']]}.")
        foot += ["Get the Courier Daily newsletter in your inbox every weekday morning. Sign up",
                 "Have a news tip? Contact the newsroom at tips@valleycourier.com or 208-555-0172.",
                 "Share this story: Facebook \u00b7 Twitter \u00b7 Email \u00b7 Print",
                 "Copyright \u00a9 2026 Valley Courier. All rights reserved. Terms of Use | Privacy Policy"]
    elif o == "nn":
        share = "Share: Facebook | X | LinkedIn | Reddit | Email"
        head = ["Northline News", "Local | Canada | World | Business | Sports | Weather", share]
        inline = [(2, "Story continues below advertisement")] if n > 3 else []
        foot = [share, "Trending on Northline"] + others(s, stories, 5, rng) + [
            "Northline News is committed to accuracy. Spotted an error? Email corrections@northlinenews.ca",
            "\u00a9 2026 Northline Broadcasting Inc."]
    elif o == "dq":
        by = AGENCY_NAMES[s["agency"]] if synd else "Quill News Service"
        head = ["Daily Quill", f"Updated: {fmt_time(s['t'] + dt.timedelta(minutes=rng.randint(5, 50)), 'ist')}",
                f"Written By: {by} | Edited By: Daily Quill Desk"]
        inline = [(2, "Also read: " + others(s, stories, 1, rng)[0])] if n > 2 else []
        foot = ["Catch all the Latest News, Breaking News and Top Headlines on Daily Quill.",
                "Download the Daily Quill app for real-time updates."]
        if synd:
            foot.append("Disclaimer: This story is auto-generated from a syndicated feed; only the headline "
                        "may have been reworked by Daily Quill staff.")
        foot += ["Next Story", f"First Published: {fmt_time(s['t'], 'ist')}"]
    else:
        raise KeyError(o)
    return head, inline, foot


def render_text(s, stories) -> str:
    head, inline, foot = chrome(s, stories)
    body = []
    for i, p in enumerate(s["paras"]):
        body.append(p)
        body += [line for after, line in inline if after == i + 1]
    return "\n".join(head + body + foot)


HTML_NAV = {
    "mbd": ["Markets", "Companies", "Economy", "Property", "Tech", "Opinion", "MBD Pro"],
    "nn": ["Local", "Canada", "World", "Business", "Sports", "Weather"],
    "vc": ["News", "Sports", "Business", "Opinion", "Obituaries", "Things to Do"],
}


def render_html(s, stories) -> str:
    o = OUTLETS[s["outlet"]]
    e = lambda x: html.escape(x, quote=False)  # noqa: E731
    by = AGENCY_NAMES[s["agency"]] if s["agency"] else f"{o.name} staff"
    when = s["t"].astimezone(o.tz).strftime("%B %-d, %Y")
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(s['headline'])} | {e(o.name)}</title>",
        f'<link rel="canonical" href="{s["url"]}">',
        "</head>",
        "<body>",
        f'<header><a class="logo" href="/">{e(o.name)}</a></header>',
        "<nav>" + " | ".join(f'<a href="/{x.lower().replace(" ", "-")}">{e(x)}</a>' for x in HTML_NAV[o.code])
        + "</nav>",
        "<article>",
        f"<h1>{e(s['headline'])}</h1>",
        f'<p class="byline">{e(by)} | {when}</p>',
    ]
    lines += [f"<p>{e(p)}</p>" for p in s["paras"]]
    lines.append("</article>")
    if o.code == "mbd":
        lines.append('<aside class="paywall">')
        lines += [f"<p>{e(x)}</p>" for x in MBD_SUBSCRIBE]
        lines.append("</aside>")
        foot = ["Disclaimer: This article is for general information only and does not constitute investment advice.",
                "\u00a9 2026 Metro Business Daily Pte Ltd. Co. Reg. No. 200601234K"]
    elif o.code == "nn":
        foot = ["Northline News is committed to accuracy. Spotted an error? Email corrections@northlinenews.ca",
                "\u00a9 2026 Northline Broadcasting Inc."]
    else:
        foot = ["Have a news tip? Contact the newsroom at tips@valleycourier.com or 208-555-0172.",
                "Copyright \u00a9 2026 Valley Courier. All rights reserved. Terms of Use | Privacy Policy"]
    lines.append("<footer>" + "".join(f"<p>{e(x)}</p>" for x in foot) + "</footer>")
    lines += ['<script src="/static/js/analytics.min.js" defer></script>', "</body>", "</html>"]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# 5. Assemble.
# --------------------------------------------------------------------------------------
def wire_copy(key, outlet, headline, minutes, opt):
    w = WIRES[key]
    paras = list(w["paras"])
    dateline = opt.get("dateline", w["dateline"])
    if opt.get("verbatim"):
        dateline = w["dateline"]
    paras[0] = dateline + paras[0]
    idx = range(len(paras))
    if "drop" in opt:
        idx = [i for i in idx if i not in opt["drop"]]
    if "keep" in opt:
        idx = list(idx)[: opt["keep"]]
    paras = [paras[i] for i in idx]
    if not opt.get("verbatim"):
        for f in STYLE[outlet]:
            paras = [f(p) for p in paras]
    return dict(outlet=outlet, headline=w["headline"] if opt.get("verbatim") else headline,
                t=w["time"] + dt.timedelta(days=opt.get("days", 0), minutes=minutes),
                paras=paras, agency=w["agency"], cluster=key, html=opt.get("html", False),
                section=WIRE_SECTION[key], kind="wire-copy", verbatim=bool(opt.get("verbatim")))


def build():
    stories = [wire_copy(*c) for c in COPIES]
    for x in SINGLES + HTML_SINGLES:
        paras = x["paras"]
        for f in STYLE[x["outlet"]]:
            if f is not us_plain:  # local copy is written in house style already; quotes still get curled
                paras = [f(p) for p in paras]
        stories.append(dict(outlet=x["outlet"], headline=x["headline"], t=x["time"], paras=paras, agency=None,
                            cluster=None, html=x.get("html", False), section="local",
                            kind="html-single" if x.get("html") else "single", verbatim=False))
    for b in BRIEFS:
        for outlet, t in b["outlets"]:
            stories.append(dict(outlet=outlet, headline=b["headline"], t=t, paras=list(b["paras"]), agency=None,
                                cluster=b["cluster"], html=False, section="local",
                                kind="brief" if b["cluster"] else "brief-lookalike", verbatim=True))
    # Chronological order (UTC instant), then ids numbered per outlet in that order.
    stories.sort(key=lambda s: (s["t"], s["outlet"], s["headline"]))
    count = {k: 0 for k in OUTLETS}
    for s in stories:
        o = s["outlet"]
        count[o] += 1
        s["num"] = ID_BASE[o] + 3 * count[o] + (count[o] * 7) % 3
        s["id"] = f"{o}-{s['num']}"
        s["url"] = OUTLETS[o].url(s)
        if s["cluster"] is None:
            s["cluster"] = s["id"]
    for s in stories:
        s["body"] = render_html(s, stories) if s["html"] else render_text(s, stories)
    return stories


def iso(t: dt.datetime, tz) -> str:
    t = t.astimezone(tz)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if tz is UTC else t.isoformat()


def record(s):
    o = OUTLETS[s["outlet"]]
    return {"id": s["id"], "outlet": o.name, "url": s["url"], "headline": s["headline"],
            "published_at": iso(s["t"], o.tz), "body": s["body"]}


def bad_lines(stories) -> list[str]:
    """Deliberately broken input, appended after the well-formed records."""
    dup_of = next(s for s in stories if s["outlet"] == "nn" and s["kind"] == "single")
    truncated = json.dumps({
        "id": "hl-70466", "outlet": "The Harbor Ledger",
        "url": "https://www.harborledger.com/2026/11/26/south-portland-council-delays-vote-on-short-term-rentals/",
        "headline": "South Portland council delays vote on short-term rental caps",
        "published_at": "2026-11-26T23:10:00Z",
        "body": "The Harbor Ledger\nSkip to content\nSOUTH PORTLAND \u2014 The City Council on Wednesday postponed "
                "a vote on capping short-term rental permits after more than 40 residents signed up to speak, "
                "pushing the meeting past midnight.",
    }, ensure_ascii=False)
    truncated = truncated[: truncated.index("pushing the meeting")]  # cut mid-string: no closing quote/brace
    array = json.dumps(["mbd-15399", "Metro Business Daily", "https://www.metrobusinessdaily.com/markets/x-15399",
                        "Regional currencies steady as dollar eases", "2026-11-26T09:00:00Z",
                        "Regional currencies were little changed on Thursday as the dollar eased."],
                       ensure_ascii=False)
    no_body = json.dumps({"id": "dq-92011", "outlet": "Daily Quill",
                          "url": "https://www.dailyquill.in/lifestyle/horoscope-today-november-27-2026-92011.html",
                          "headline": "Horoscope today, November 27, 2026: Read predictions for all zodiac signs",
                          "published_at": "2026-11-27T05:30:00+05:30"}, ensure_ascii=False)
    empty_body = json.dumps({"id": "kt-88501", "outlet": "Kestrel Times",
                             "url": "https://www.kestreltimes.co.uk/news/live-norwich-christmas-lights-switch-on/article88501.ece",
                             "headline": "LIVE: Norwich Christmas lights switch-on",
                             "published_at": "2026-11-26T17:00:00Z", "body": ""}, ensure_ascii=False)
    dup_id = json.dumps({"id": dup_of["id"], "outlet": "Northline News",
                         "url": "https://northlinenews.ca/local/52799/snowmobile-club-grooms-first-trails",
                         "headline": "Snowmobile club grooms first trails of the season",
                         "published_at": "2026-11-26T22:40:00Z",
                         "body": "Northline News\nThe Lakehead Snow Riders club groomed its first 60 kilometres of "
                                 "trail on Wednesday night, two weeks earlier than last year, after a cold snap "
                                 "firmed up the ground north of the city. Riders need a valid trail permit, and "
                                 "the club asks everyone to stay off private fields that are not yet signed. "
                                 "Permits are available online and at four local dealers.\n\u00a9 2026 Northline "
                                 "Broadcasting Inc."}, ensure_ascii=False)
    numeric_id = json.dumps({"id": 12345, "outlet": "Valley Courier",
                             "url": "https://www.valleycourier.com/local/article_12345.html",
                             "headline": "Library card sign-ups hit a November record",
                             "published_at": "2026-11-26T16:05:00-07:00",
                             "body": "Valley Courier\nServing the Treasure Valley since 1911\nBOISE \u2014 The "
                                     "county library system signed up 2,140 new cardholders in the first three weeks "
                                     "of November, the most for the month since it began keeping records in 1998, "
                                     "officials said. A drive that waived late fees for returning borrowers and a "
                                     "new app for e-books and audiobooks drove much of the increase, said library "
                                     "director Grace Kimura. \u201cPeople came back for the amnesty and stayed for "
                                     "the audiobooks,\u201d she said.\nCopyright \u00a9 2026 Valley Courier. All "
                                     "rights reserved. Terms of Use | Privacy Policy"}, ensure_ascii=False)
    return [truncated, array, no_body, empty_body, dup_id, numeric_id]


BAD_KINDS = ["invalid JSON (truncated line)", "JSON array, not an object", "no body field",
             'empty body ""', "duplicate id (different content)", "numeric id 12345"]


def words(text: str) -> int:
    return len(text.split())


def validate(stories):
    for key, w in WIRES.items():
        n = words(" ".join(w["paras"])) + words(w["dateline"])
        assert 180 <= n <= 400 and 5 <= len(w["paras"]) <= 9, (key, n, len(w["paras"]))
        copies = [s for s in stories if s["cluster"] == key]
        assert 3 <= len(copies) <= 6, (key, len(copies))
    for x in SINGLES + HTML_SINGLES:
        n = words(" ".join(x["paras"]))
        assert 120 <= n <= 300, (x["headline"], n)
    for b in BRIEFS:
        n = words(" ".join(b["paras"]))
        assert 30 <= n <= 45, (b["headline"], n)
    ids = [s["id"] for s in stories]
    assert len(ids) == len(set(ids))
    per_outlet = {o: sum(s["outlet"] == o for s in stories) for o in OUTLETS}
    assert min(per_outlet.values()) >= 3, per_outlet


def write():
    stories = build()
    validate(stories)
    with BATCH.open("w", encoding="utf-8", newline="\n") as f:
        for s in stories:
            f.write(json.dumps(record(s), ensure_ascii=False) + "\n")
        for line in bad_lines(stories):
            f.write(line + "\n")
    with GOLD.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["story_id", "gold_cluster"])
        for s in stories:
            w.writerow([s["id"], s["cluster"]])
    return stories


# --------------------------------------------------------------------------------------
# 6. Check what was written.
# --------------------------------------------------------------------------------------
def shingles(text: str, k: int = 4) -> set:
    toks = re.findall(r"\w+", text.lower())
    return {tuple(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))}


def check(stories=None):
    lines = BATCH.read_text(encoding="utf-8").splitlines()
    good, bad = [], []
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append((n, f"invalid JSON: {e.msg}"))
            continue
        if not isinstance(obj, dict):
            bad.append((n, f"not an object: {type(obj).__name__}"))
        elif "body" not in obj:
            bad.append((n, "no body"))
        elif obj["body"] == "":
            bad.append((n, "empty body"))
        elif not isinstance(obj["id"], str):
            bad.append((n, f"id is {type(obj['id']).__name__}: {obj['id']!r}"))
        elif obj["id"] in {g["id"] for g in good}:
            bad.append((n, f"duplicate id {obj['id']}"))
        else:
            good.append(obj)
    gold = list(csv.DictReader(GOLD.open(encoding="utf-8")))
    assert [g["story_id"] for g in gold] == [o["id"] for o in good], "gold.csv must list exactly the good records"
    assert len(bad) == len(BAD_KINDS) and all(n > len(good) for n, _ in bad), bad
    for o in good:
        dt.datetime.fromisoformat(o["published_at"].replace("Z", "+00:00")).utcoffset()
    clusters: dict[str, list[str]] = {}
    for g in gold:
        clusters.setdefault(g["gold_cluster"], []).append(g["story_id"])
    print(f"{BATCH.name}: {len(lines)} lines, {len(good)} well-formed records, {len(bad)} bad lines")
    for n, why in bad:
        print(f"  bad line {n}: {why}")
    print("records per outlet:", ", ".join(f"{k} {v}" for k, v in
                                         sorted({o['outlet']: sum(x['outlet'] == o['outlet'] for x in good)
                                                 for o in good}.items())))
    multi = {k: v for k, v in clusters.items() if len(v) > 1}
    single = [k for k, v in clusters.items() if len(v) == 1]
    print(f"clusters with >1 record: {len(multi)}; singletons: {len(single)}")
    for k, v in sorted(multi.items()):
        print(f"  {k:20s} {len(v)}  {' '.join(v)}")
    print("  singletons:", " ".join(single))
    if stories:
        kinds: dict[str, int] = {}
        for s in stories:
            kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
        print("records by kind:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        late = [s["id"] for s in stories if s["t"].date() != DAY.date()]
        print("published on another day:", late)
        rail = [s for s in stories if s["headline"].startswith(("Weekend rail", "Riders fume"))]
        a, c = shingles(rail[0]["paras"][0]), shingles(rail[-1]["paras"][0])
        print(f"rail brief vs look-alike (story text only, 4-shingles): jaccard {len(a & c) / len(a | c):.2f}, "
              f"containment {len(a & c) / min(len(a), len(c)):.2f}")
        for o in ("hl", "mbd"):
            sub = words("\n".join(HL_SUBSCRIBE if o == "hl" else MBD_SUBSCRIBE))
            shorter = [s["id"] for s in stories if s["outlet"] == o and words("\n".join(s["paras"])) < sub]
            print(f"{o}: subscription block {sub} words, longer than the story in {len(shorter)} of "
                  f"{sum(s['outlet'] == o for s in stories)} stories")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        check()
    else:
        check(write())
