package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// kafkaPassword returns the SASL password: ORDERSYNC_KAFKA_PASSWORD, or the
// content of ORDERSYNC_KAFKA_PASSWORD_FILE without its trailing newline.
// Setting both is an error.
func kafkaPassword(p *parser) string {
	pass, file := p.raw["KAFKA_PASSWORD"], p.str("KAFKA_PASSWORD_FILE")
	if file == "" {
		return pass
	}
	if pass != "" {
		p.fail("KAFKA_PASSWORD_FILE", "set together with ORDERSYNC_KAFKA_PASSWORD; set one of them")
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		p.fail("KAFKA_PASSWORD_FILE", "cannot read %s", file)
		return ""
	}
	p.checkPrivate("KAFKA_PASSWORD_FILE", file)
	return strings.TrimRight(string(data), "\r\n")
}

// checkPrivate warns when the secret file path of setting name can be read
// by its group or by others.
func (p *parser) checkPrivate(name, path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	s, _ := lookupSetting(name)
	p.warnings = append(p.warnings, fmt.Sprintf("%s: %s is readable by group or others (mode %04o); chmod 600 it",
		s.env(), path, fi.Mode().Perm()))
}

// checkBaseURL refuses a plain-http API base URL, which would carry login
// tokens unencrypted, unless it names a loopback host or
// ORDERSYNC_ALLOW_INSECURE_BASE_URL is true; an allowed one is warned about.
func checkBaseURL(p *parser, base string) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return
	}
	if !loopback(u.Hostname()) && !p.boolean("ALLOW_INSECURE_BASE_URL") {
		p.fail("WECHATPAY_BASE_URL", "%q is plain http to a host other than this one: bodies, login_token included, "+
			"would cross the network unencrypted; use https, or set ORDERSYNC_ALLOW_INSECURE_BASE_URL=true (sandbox only)", base)
		return
	}
	p.warnings = append(p.warnings, "ORDERSYNC_WECHATPAY_BASE_URL is plain http: bodies, login_token included, "+
		"cross the network unencrypted; use it only with the sandbox")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
