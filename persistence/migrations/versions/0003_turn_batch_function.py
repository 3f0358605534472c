"""PostgreSQL: a batch of turn writes as one function, so that it is one round trip.

The function does on the server what ``persistence.turns.apply_turns`` does on SQLite:
appends take their conversation's next seq (its row locked, conversations in id order),
a user turn repeating a stored ``client_msg_id`` gets the original, a user turn in a
closed conversation is refused, message updates change only the fields given, and the
grades that ride with a stored reply are written with it. Called as a single statement
outside an explicit transaction, the whole batch commits or fails as one.

``ops`` is a JSON array; each element is either an append
``{"k": "a", "id", "c", "role", "content", "status", "client_msg_id", "metadata",
"grades": {"id", "evaluation", "score"} | null}`` or an update ``{"k": "u", "id",
"content"?, "status"?, "metadata"?}``. The result is an array of the same length: for
an append ``{"seq": n}``, ``{"duplicate": <stored row>}``, ``{"refused": "not_found"}``
or ``{"refused": "closed", "status": ...}``; for an update ``null``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION tutorchat_apply_turns(ops jsonb, at timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  item jsonb;
  results jsonb[] := '{}';
  grades jsonb[] := '{}';
  head record;
  original jsonb;
  next_seq integer;
BEGIN
  -- Lock every conversation appended to, in id order like every other batch: two
  -- batches never wait for each other in a cycle.
  PERFORM 1 FROM conversations
    WHERE id IN (SELECT e->>'c' FROM jsonb_array_elements(ops) e WHERE e->>'k' = 'a')
    ORDER BY id FOR UPDATE;
  FOR item IN SELECT * FROM jsonb_array_elements(ops) LOOP
    IF item->>'k' = 'u' THEN
      UPDATE conversation_messages SET
        content = COALESCE(item->>'content', content),
        status = COALESCE(item->>'status', status),
        metadata = CASE WHEN item ? 'metadata' THEN item->'metadata' ELSE metadata END
        WHERE id = item->>'id';
      results := results || 'null'::jsonb;
      CONTINUE;
    END IF;
    original := NULL;
    IF item->>'client_msg_id' IS NOT NULL THEN
      SELECT to_jsonb(m) INTO original FROM conversation_messages m
        WHERE m.conversation_id = item->>'c' AND m.client_msg_id = item->>'client_msg_id';
    END IF;
    IF original IS NOT NULL THEN
      results := results || jsonb_build_object('duplicate', original);
      CONTINUE;
    END IF;
    SELECT status, last_seq INTO head FROM conversations WHERE id = item->>'c';
    IF NOT FOUND THEN
      results := results || jsonb_build_object('refused', 'not_found');
      CONTINUE;
    END IF;
    IF item->>'role' = 'user' AND head.status IS DISTINCT FROM 'active' THEN
      results := results || jsonb_build_object('refused', 'closed', 'status', head.status);
      CONTINUE;
    END IF;
    next_seq := head.last_seq + 1;
    INSERT INTO conversation_messages
      (id, conversation_id, seq, role, content, status, client_msg_id, metadata, created_at)
      VALUES (item->>'id', item->>'c', next_seq, item->>'role', item->>'content',
              item->>'status', item->>'client_msg_id',
              CASE WHEN jsonb_typeof(item->'metadata') = 'null' THEN NULL
                   ELSE item->'metadata' END,
              at);
    UPDATE conversations SET last_seq = next_seq, last_activity_at = at
      WHERE id = item->>'c';
    IF jsonb_typeof(item->'grades') = 'object' THEN
      grades := grades || (item->'grades' || jsonb_build_object('c', item->>'c'));
    END IF;
    results := results || jsonb_build_object('seq', next_seq);
  END LOOP;
  -- After the updates, as on SQLite: a graded turn's evaluation, its conversation's score.
  FOREACH item IN ARRAY grades LOOP
    UPDATE conversation_messages SET metadata = item->'evaluation' WHERE id = item->>'id';
    UPDATE conversations SET mastery_score = (item->>'score')::float WHERE id = item->>'c';
  END LOOP;
  RETURN to_jsonb(results);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION tutorchat_apply_turns(jsonb, timestamptz)")
