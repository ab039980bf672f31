# CloudEvents 1.0 (structured mode) where every event has one type,
# "com.example.order.status", and data.status says what happened.
# The CloudEvents attributes become the order event's id and time.
def event_type:
  {"CREATED": "order.created", "UPDATED": "order.updated", "PAID": "order.paid",
   "SERVED": "order.served", "CLOSED": "order.closed"}[.]
  // error("unknown data.status");

if .type != "com.example.order.status" then empty else
  .data * {event_id: .id, occurred_at: .time, event_type: (.data.status | event_type)}
  | del(.status)
end
