"""smefin's toolkit: settings, database, errors, internal auth, HTTP, logging. No business rules."""
