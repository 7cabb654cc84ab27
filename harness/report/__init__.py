"""Reporting: leaderboard tables, run manifests."""
