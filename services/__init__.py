"""smefin's services: credit, matching, gateway, and the smefin command."""
