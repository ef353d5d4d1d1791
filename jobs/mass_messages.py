"""Mass message jobs (the messages queue): build a message's recipients and tasks, create a task
in WeCom, read back a task's results."""
from scrm.services import mass_messages


def build(message_id: int) -> str:
    return mass_messages.build(message_id)


def run_task(task_id: int) -> str:
    return mass_messages.run_task(task_id)


def check_task(task_id: int) -> str:
    return mass_messages.check_task(task_id)
