"""supplyline.serve: the analyst's workbench, a local web application over a store (``supplyline serve``).

``app`` builds the Starlette application, ``api`` holds the JSON endpoints (documented by ``openapi``),
``queries`` the SQL they run (parameterised), ``db`` the one read-only way the server opens a store (``Store.reader()`` and an in-memory copy),
``security`` the token, host and header rules, and ``sse`` the live alerts feed. ``static/`` is the front
end (plain JavaScript on the report's vendored d3 and coastlines; nothing is fetched from elsewhere).

Starlette and uvicorn are the optional extra ``serve`` (``pip install supplyline[serve]``).
"""
