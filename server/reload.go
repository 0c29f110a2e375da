package server

import (
	"log/slog"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"google.golang.org/protobuf/proto"
)

// Reload re-reads the config with load (typically config.Load of the file
// the server started with; `msg-gateway serve` calls it on SIGHUP) and
// applies what can change at run time: log.level, through
// [Options.LogLevel]. The new config is checked completely, as `msg-gateway
// check` does, so a reload also says whether the file would start. Settings
// that need a restart (listeners, TLS, hosts, rules, limits, ...) are not
// applied; the log names them.
//
// On failure the running config stays as it is, the error is logged and
// returned, and msg_config_reloads_total{result="failure"} goes up.
func (s *Server) Reload(load func() (*configv1.Config, error)) error {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	cfg, err := load()
	if err == nil {
		err = Check(cfg)
	}
	if err != nil {
		s.metrics.reloadResult(false)
		s.log.Error("config reload failed; keeping the running config", "error", err.Error())
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.GetLog().GetLevel())); err != nil {
		// Unreachable: Check validated log.level.
		s.metrics.reloadResult(false)
		return err
	}
	if s.opts.LogLevel != nil {
		s.opts.LogLevel.Set(level)
	}
	changed := !proto.Equal(cfg, s.reload.lastLoaded)
	s.reload.lastLoaded = cfg
	s.metrics.reloadResult(true)
	if keys := restartKeys(s.cfg, cfg); len(keys) > 0 {
		s.log.Warn("config reloaded; these settings changed and need a restart to apply", "keys", keys)
	}
	s.log.Info("config reloaded", "log_level", level.String(), "changed", changed)
	return nil
}

// restartKeys names the top-level keys (log.format for log) that differ
// between the running config and cfg, other than log.level.
func restartKeys(running, cfg *configv1.Config) []string {
	a, b := proto.Clone(running).(*configv1.Config), proto.Clone(cfg).(*configv1.Config)
	if a.GetLog() != nil {
		a.Log.Level = ""
	}
	if b.GetLog() != nil {
		b.Log.Level = ""
	}
	var keys []string
	ra, rb := a.ProtoReflect(), b.ProtoReflect()
	fields := ra.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		x, y := &configv1.Config{}, &configv1.Config{}
		if ra.Has(fd) {
			x.ProtoReflect().Set(fd, ra.Get(fd))
		}
		if rb.Has(fd) {
			y.ProtoReflect().Set(fd, rb.Get(fd))
		}
		if !proto.Equal(x, y) {
			key := string(fd.Name())
			if key == "log" {
				key = "log.format"
			}
			keys = append(keys, key)
		}
	}
	return keys
}
