from scrm.services import welcome


def send_welcome(event_id: int) -> str:
    return welcome.send_welcome(event_id)
