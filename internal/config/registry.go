package config

import (
	"fmt"
	"strings"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
)

// singleAccount lists the settings that form the "default" account; with
// ORDERSYNC_MERCHANTS_FILE set, the file says all of this per account.
func (s *settings) singleAccount() []value {
	return []value{s.Mode, s.MchID, s.MchCertSerial, s.MchPrivateKeyFile,
		s.WechatPayPublicKeyFile, s.WechatPayPublicKeyID, s.WechatPayCertFile, s.SpAppID, s.ChannelID}
}

// parseRegistry fills cfg.Registry and cfg.MerchantHold. With a registry
// file, any single-account setting that was given is a conflict; the file's
// key files are read only when need includes NeedWechat. It returns
// warnings for settings the registry makes meaningless.
func parseRegistry(cfg *Config, s *settings, need Need) ([]string, error) {
	p := &parser{s: s}
	cfg.MerchantHold = p.duration(p.s.MerchantHold, false)
	cfg.MerchantsFile = p.str(p.s.MerchantsFile)
	if p.err != nil {
		return nil, p.err
	}
	file := s.MerchantsFile.label
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
	for _, c := range s.singleAccount() {
		if c.given && strings.TrimSpace(c.raw) != "" { // an empty variable sets nothing
			return nil, &Error{Setting: file, Reason: fmt.Sprintf(
				"conflicts with %s: with a merchant registry, set the mode, ids and keys per account in the file, not as settings", c.label)}
		}
	}
	reg, err := merchants.Load(cfg.MerchantsFile, merchants.LoadOptions{Keys: need&NeedWechat != 0})
	if err != nil {
		return nil, &Error{Setting: file, Reason: cfg.MerchantsFile + ": " + err.Error()}
	}
	cfg.Registry = reg
	var warnings []string
	if s.RateLimit.given && strings.TrimSpace(s.RateLimit.raw) != "" {
		warnings = append(warnings, "ORDERSYNC_RATE_LIMIT is ignored with ORDERSYNC_MERCHANTS_FILE: set rate_limit per account in "+
			strings.TrimSpace(cfg.MerchantsFile))
	}
	return warnings, nil
}
