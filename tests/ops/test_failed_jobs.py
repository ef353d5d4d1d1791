"""`flask scrm failed` lists failed jobs; `--retry JOB_ID…` and `--retry --all` requeue them."""
from __future__ import annotations

from rq.registry import FailedJobRegistry

from scrm.queueing import get_queue
from tests.ops.conftest import failed_job


def test_failed_lists_id_queue_function_time_and_error(app, runner):
    job_id = failed_job(app, "Bob")
    result = runner.invoke(args=["scrm", "failed"])
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split() == ["id", "queue", "function", "failed", "at", "error"]
    assert row.split()[:3] == [job_id, "periodic", "tests.ops.jobs.explode"]
    assert row.split()[3].endswith("Z")
    assert "ValueError: no follow relation for '…'" in row
    assert "Bob" not in result.output


def test_failed_with_nothing_failed(app, runner):
    result = runner.invoke(args=["scrm", "failed"])
    assert (result.exit_code, result.output) == (0, "no failed jobs\n")


def test_retry_requeues_the_jobs_named_on_their_queue(app, runner):
    first, second = failed_job(app, "A"), failed_job(app, "B")
    periodic = get_queue("periodic")
    result = runner.invoke(args=["scrm", "failed", "--retry", first])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"requeued {first}", "1 job(s) requeued"]
    assert periodic.job_ids == [first]
    assert FailedJobRegistry(queue=periodic).get_job_ids() == [second]


def test_retry_all_requeues_every_failed_job(app, runner):
    ids = {failed_job(app, "A"), failed_job(app, "B")}
    result = runner.invoke(args=["scrm", "failed", "--retry", "--all"])
    assert result.exit_code == 0, result.output
    assert "2 job(s) requeued" in result.output
    assert set(get_queue("periodic").job_ids) == ids
    assert FailedJobRegistry(queue=get_queue("periodic")).count == 0


def test_retry_of_an_unknown_job_says_so_and_fails(app, runner):
    result = runner.invoke(args=["scrm", "failed", "--retry", "no-such-job"])
    assert result.exit_code == 1
    assert "not a failed job: no-such-job" in result.output


def test_retry_needs_ids_or_all(app, runner):
    assert runner.invoke(args=["scrm", "failed", "--retry"]).exit_code == 2
    assert runner.invoke(args=["scrm", "failed", "some-id"]).exit_code == 2
