"""The battery-recycling demo: a realistic supply chain recorded through the real ledger."""
