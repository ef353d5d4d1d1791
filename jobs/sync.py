"""The `sync` queue's job: run (or continue) one SyncRun."""
from scrm.services import sync


def run_sync(run_id: int) -> str:
    return sync.run(run_id)
