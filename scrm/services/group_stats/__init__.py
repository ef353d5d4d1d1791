"""Group analytics (issue #12): daily figures per group from group_member (aggregate), WeCom's
figures per owner and the nightly run (pull), and the reads the Open API serves (queries)."""
from scrm.services.group_stats.aggregate import rebuild, retention
from scrm.services.group_stats.pull import pull_day, pullable, run_nightly

__all__ = ["pull_day", "pullable", "rebuild", "retention", "run_nightly"]
