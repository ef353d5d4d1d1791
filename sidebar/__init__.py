"""The in-chat sidebar (聊天工具栏) page and its JSON endpoints. Built in a later issue."""
from flask import Blueprint

bp = Blueprint("sidebar", __name__, url_prefix="/sidebar")
