"""The case page: customers look, instead of calling (DESIGN.md, "The case page").

`case_url` in every message opens `/c/{token}`: the case's history in the customer's
words and language, what happens next, and their preferences (docs/case-page.md).
`views` serves it; the other modules are pure and light (the CLI's check uses `words`).
"""
