"""Pure types shared by every layer: requests, results, events, errors. No I/O here."""
