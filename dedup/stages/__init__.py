"""The stages of the job, in the order the data flows through them.

Pure functions over Arrow arrays and numpy: no files, locks or policy (those are
``dedup.night``'s). Both engines call these same functions, so a rule changed here reaches both.

    read.py         files -> records (source, record, story_id, outlet, url, headline, published_at, body) + rejects
    text/           text helpers: lines (split, keys), normalize (Unicode, house style), html (pages -> text),
                    wire (agency credits and datelines)
    chrome.py       outlet chrome (boilerplate): learned, generic and edge lines
    clean.py        prepare (HTML, Unicode) and finish (furniture, chrome, house style) -> body_clean
    fingerprint.py  shingles and MinHash signatures (datasketch parity)
    candidates.py   LSH banding -> candidate pairs
    verify.py       exact Jaccard and containment of candidate pairs
    cluster.py      star clusters, rescue, member scores and relation
    tables.py       output rows: cluster ids, canonical reasons, the clusters table
    reasons.py      reject reasons
"""
