package config

import (
	"fmt"
	"strings"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
)

// singleAccount lists the settings that form the "default" account; with
// ORDERSYNC_MERCHANTS_FILE set, the file says all of this per account.
var singleAccount = []string{"MODE", "MCHID", "MCH_CERT_SERIAL", "MCH_PRIVATE_KEY_FILE",
	"WECHATPAY_PUBLIC_KEY_FILE", "WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_CERT_FILE", "SP_APPID", "CHANNEL_ID"}

// parseRegistry fills cfg.Registry and cfg.MerchantHold. With a registry
// file, any single-account setting that was given is a conflict; the file's
// key files are read only when need includes NeedWechat. It returns
// warnings for settings the registry makes meaningless.
func parseRegistry(cfg *Config, raw map[string]string, given map[string]bool, need Need) ([]string, error) {
	p := &parser{raw: raw}
	cfg.MerchantHold = p.duration("MERCHANT_HOLD", false)
	cfg.MerchantsFile = p.str("MERCHANTS_FILE")
	if p.err != nil {
		return nil, p.err
	}
	s, _ := lookupSetting("MERCHANTS_FILE")
	if cfg.MerchantsFile == "" {
		cfg.Registry = merchants.Single(merchants.Account{
			Mode:                 mapper.Mode(cfg.Mode),
			MchID:                cfg.MchID,
			CertSerial:           cfg.MchCertSerial,
			SpAppID:              cfg.SpAppID,
			ChannelID:            cfg.ChannelID,
			RateLimit:            cfg.RateLimit,
			PrivateKey:           cfg.MchPrivateKey,
			WechatPayPublicKey:   cfg.WechatPayPublicKey,
			WechatPayPublicKeyID: cfg.WechatPayPublicKeyID,
			WechatPayCert:        cfg.WechatPayCert,
		})
		return nil, nil
	}
	for _, name := range singleAccount {
		if given[name] && strings.TrimSpace(raw[name]) != "" { // an empty variable sets nothing
			c, _ := lookupSetting(name)
			return nil, &Error{Setting: s.label(), Reason: fmt.Sprintf(
				"conflicts with %s: with a merchant registry, set the mode, ids and keys per account in the file, not as settings", c.label())}
		}
	}
	reg, err := merchants.Load(cfg.MerchantsFile, merchants.LoadOptions{Keys: need&NeedWechat != 0})
	if err != nil {
		return nil, &Error{Setting: s.label(), Reason: cfg.MerchantsFile + ": " + err.Error()}
	}
	cfg.Registry = reg
	var warnings []string
	if given["RATE_LIMIT"] && strings.TrimSpace(raw["RATE_LIMIT"]) != "" {
		warnings = append(warnings, "ORDERSYNC_RATE_LIMIT is ignored with ORDERSYNC_MERCHANTS_FILE: set rate_limit per account in "+
			strings.TrimSpace(cfg.MerchantsFile))
	}
	return warnings, nil
}
