"""A live conversation, in parts a newcomer can find by name.

- :mod:`.runtime`: the coordinator. It runs each job: a turn graded, the tutor's reply
  started; :mod:`.intake` takes the client's frames (a turn, a cancel, ``complete``).
- :mod:`.room`: the sockets on the conversation, their replay and resync.
- :mod:`.pipeline`: the jobs, answered one at a time and in order by one worker.
- :mod:`.reply`: the reply being streamed, its deltas coalesced and its text saved.
- :mod:`.persistent`: the writes a conversation cannot go on without, tried again
  while the database refuses them.
- :mod:`.ownership`: with other processes, whether this one runs the replies (a lease).
- :mod:`.completion`: the score after each turn and the attempt's end; :mod:`.deck`: a
  flashcard deck's order and schedule across attempts.
- :mod:`.standing` and :mod:`.transcript`: what the conversation holds in memory: its
  status and score, and its messages.
"""

from realtime.conversation.intake import Refused
from realtime.conversation.runtime import ConversationRuntime

__all__ = ["ConversationRuntime", "Refused"]
