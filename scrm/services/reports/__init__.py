"""Manager reports (issue #15): daily aggregate tables maintained by set-based SQL (staff_day;
the runs in nightly), and the reads the Open API and the console serve (follow_up, drill).
See docs/reports.md."""
from scrm.services.reports.nightly import rebuild, refresh_corp, refresh_today, run_nightly

__all__ = ["rebuild", "refresh_corp", "refresh_today", "run_nightly"]
