"""A local Slack emulator for tests and demos.

``SlackEmulator`` (server.py) is a fake Web API with an inspectable workspace, ``SlackDriver``
(driver.py) sends Slack's signed requests to a Bolt app, ``limits`` checks Block Kit payloads
and ``render`` draws messages and modals as plain text.
"""

from bot.emulator.driver import DriverResponse, SlackDriver, TrackingExecutor
from bot.emulator.server import Call, SlackEmulator

__all__ = ["Call", "DriverResponse", "SlackDriver", "SlackEmulator", "TrackingExecutor"]
