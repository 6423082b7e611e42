"""A websocket test client that waits for a frame as long as a loaded machine may need.

channels' ``WebsocketCommunicator`` gives up on a frame after 1 s. ``make test`` runs its two
suites side by side on two cores, where a frame that always comes can take longer; waiting
costs nothing when it comes at once. ``receive_nothing`` keeps its own short wait.
"""

from channels.testing import WebsocketCommunicator

FRAME_SECONDS = 10


class PatientCommunicator(WebsocketCommunicator):
    async def connect(self, timeout=FRAME_SECONDS):
        return await super().connect(timeout)

    async def receive_from(self, timeout=FRAME_SECONDS):
        return await super().receive_from(timeout)

    async def receive_json_from(self, timeout=FRAME_SECONDS):
        return await super().receive_json_from(timeout)
