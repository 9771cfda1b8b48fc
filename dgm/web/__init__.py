"""`dgm serve`: a local web view of a run (lineage, a child's page, the review queue, progress).

Starlette + Jinja2 + Pygments, served by uvicorn; imported only by `dgm serve` (the optional
`dgm[web]` group), never on the CLI's start-up path. Every page needs the server's random
token (given once in the URL, then kept in a SameSite=Strict cookie); every write also needs a
CSRF token from the page and a matching Origin.
"""
