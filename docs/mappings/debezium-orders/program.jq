# A Debezium change event of a restaurant `orders` table (JSON converter,
# schemas disabled): before/after rows, op c(reate) u(pdate) d(elete)
# r(ead, snapshot). Amounts are integer fen columns; dishes are a JSON text
# column; times are epoch milliseconds. A delete (or a tombstone) yields
# nothing. The log position, beyond 2^53, names the event exactly.
def rfc3339: . / 1000 | floor | todate;

if . == null or .op == "d" then empty else
.after as $row
| ($row.status == "PAID") as $paid
| {
    event_id: "dbz-\(.source.lsn)",
    event_type: (if .op == "c" or .op == "r" then (if $paid then "order.paid" else "order.created" end)
                 elif $paid and (.before.status // "") != "PAID" then "order.paid"
                 else "order.updated" end),
    occurred_at: ($row.updated_at | rfc3339),
    merchant: {sub_mchid: $row.sub_mchid, sub_appid: $row.sub_appid, shop_no: $row.shop_no},
    customer: {sub_openid: $row.openid, login_token: $row.login_token},
    order: {
      order_no: $row.order_no, entry: $row.entry, table_no: $row.table_no, people_count: $row.people,
      total_amount: $row.total_fen, discount_amount: $row.discount_fen, user_amount: $row.user_fen,
      dishes: ($row.dishes_json | fromjson)
    }
  }
+ (if $paid then {payment: {transaction_id: $row.transaction_id, out_trade_no: $row.order_no,
                            paid_at: ($row.paid_at | rfc3339)}} else {} end)
end
