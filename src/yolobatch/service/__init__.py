"""Use cases every shell (API, dashboard, CLI) asks for, above the engine's Temporal concerns.

control: decisions, company choice, approvals, cancellation, starting; batches: create and start;
configs: the step-5 review checks; inbox: what waits for a person. Errors are exceptions the shells
map to their own answers (HTTP status, page notice, exit code)."""
