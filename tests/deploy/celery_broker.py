"""``examples.celery_app`` on a broker made of folders (``CELERY_BROKER_FOLDER``): a real
worker and the test exchange tasks with no broker server to run."""

from __future__ import annotations

import os

from examples.celery_app import answer, app

folder = os.environ["CELERY_BROKER_FOLDER"]
app.conf.broker_url = "filesystem://"
app.conf.broker_transport_options = {"data_folder_in": folder, "data_folder_out": folder}

__all__ = ["answer", "app"]
