"""Delivery platforms' embedded page state (Deliveroo, Talabat, Uber Eats): one module per platform.

Each module reads the platform's real state shape (see tests/fixtures/real/SOURCES.md for the captures
they were written against) into the shared raw menu, plus what the page says about the store: cover
image, logo, address, phone, hours.
"""
