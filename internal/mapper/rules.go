package mapper

import "unicode/utf8"

// Maximum lengths in characters, from the sync-status field tables.
const (
	maxID         = 32  // sp_mchid, sp_appid, channel_id, sub_mchid, sub_appid, out_shop_no, openid, sub_openid
	maxLoginToken = 256 // login_token
	maxEntry      = 256 // order_entry
	maxPayID      = 64  // transaction_id, out_trade_no, out_order_no
	maxTableNo    = 16  // out_table_no
	maxDishNo     = 48  // out_dish_no
	maxDishName   = 128 // name
	maxProperty   = 128 // each properties string
	maxEventID    = 64  // event_id
)

// Units of a dish.
var units = []string{"BY_SHARE", "BY_WEIGHT"}

// categories are the dish types exactly as documented, including the
// official spelling GUAGNDONG_CUISINE.
var categories = []string{
	"FAST_FOOD", "DRINK", "YOYO", "BEIJING_CUISINE", "SICHUAN_CUISINE", "DONGBEI_CUISINE",
	"SOUTHEAST_ASIAN_CUISINE", "SEAFOOD", "KOREAN_CUISINE", "HUBEI_CUISINE", "HOT_POT",
	"JIANGZHE_CUISINE", "JAPANESE_CUISINE", "BARBECUE", "NORTHWEST_CUISINE", "WESTERN_FOOD",
	"HUNAN_CUISINE", "SNACK", "XINJIANG_CUISINE", "GUAGNDONG_CUISINE", "YUNNAN_CUISINE",
	"BUFFET", "SHANDONG_CUISINE", "HALAL_FOOD",
}

// Property keys in the order they are sent; the first four are required
// when properties is present.
var propertyKeys = [5]string{"taste", "cuisine", "main_material", "ingredients", "others"}

// propertyPaths are the pointers of the property keys below a dish.
var propertyPaths = [5]string{"/properties/taste", "/properties/cuisine", "/properties/main_material",
	"/properties/ingredients", "/properties/others"}

const reason4Byte = "contains a 4-byte UTF-8 character (such as an emoji), which the API rejects"

// has4Byte reports whether valid UTF-8 s has a character outside the BMP.
func has4Byte(s []byte) bool {
	for _, c := range s {
		if c >= 0xf0 {
			return true
		}
	}
	return false
}

func oneOf(s []byte, set []string) bool {
	for _, v := range set {
		if string(s) == v {
			return true
		}
	}
	return false
}

// runes counts the characters of valid UTF-8 s.
func runes(s []byte) int { return utf8.RuneCount(s) }
