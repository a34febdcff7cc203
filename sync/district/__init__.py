"""The district page of `edge hub --web`: nodes, live alerts, a JSON API, aggregates only."""
