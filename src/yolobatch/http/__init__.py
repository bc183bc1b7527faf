"""What the API and the dashboard share: the app that mounts both, request context, authentication,
security headers and serving. `api` and `web` import this package, never each other."""
