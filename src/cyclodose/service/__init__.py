"""The clinical web service (a shell): FastAPI app, storage, users, audit trail.

Start with `cyclodose serve`, or build an app in-process with
`cyclodose.service.app.create_app(Settings(...))`.
"""
