from scrm.services import inbox


def process_callback(event_id: int) -> str:
    return inbox.process(event_id)
