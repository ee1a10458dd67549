"""PLACEHOLDER (helper B)."""
from flask import Blueprint
bp = Blueprint("ui", __name__)
@bp.get("/")
def index():
    return "labeler"
