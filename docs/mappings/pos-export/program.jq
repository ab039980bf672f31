# A POS export: amounts in yuan as strings, an items array, local times
# without an offset (Beijing time), the bill state instead of an event type.
# Heartbeat records carry no order and yield nothing (skipped).
def beijing: (. / " " | join("T")) + "+08:00";   # "2026-11-26 12:30:05" -> RFC 3339
def unit: {"portion": "BY_SHARE", "weight": "BY_WEIGHT"}[.] // .;

if .kind == "heartbeat" then empty else
{
  event_id: "pos-\(.bill_id)-\(.rev)",
  event_type: {"OPEN": "order.created", "CHANGED": "order.updated", "PAID": "order.paid", "SERVED": "order.served",
               "VOID": "order.cancelled"}[.state]
              // error("unknown bill state"),
  occurred_at: (.updated_at | beijing),
  merchant: {sub_mchid: .store.mch, sub_appid: .store.appid, shop_no: .store.code},
  customer: {sub_openid: .diner.openid, login_token: .diner.token},
  order: {
    order_no: .bill_id,
    entry: "pages/menu/index",
    table_no: .table,
    people_count: .guests,
    total_amount: (.total | fen),
    discount_amount: (.discount | fen),
    user_amount: (.payable | fen),
    dishes: [.items[] | {
      dish_no: .sku, name: .title, price: (.unit_price | fen), unit: (.by | unit), count: .qty,
      category: .category                          # null is as good as absent
    }]
  }
}
+ (if .payment then {payment: {
    transaction_id: .payment.txn, out_trade_no: .bill_id, paid_at: (.payment.paid_at | beijing)}}
   else {} end)
end
