"""Tickets (工单): SLA clocks and business-hours calendars."""
