package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidegate/tidegate/internal/admin"
)

func keysCmd() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage virtual keys through the admin API (create, list, get, revoke, rotate, delete)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	af.register(cmd)
	cmd.AddCommand(keysCreateCmd(&af), keysListCmd(&af), keysGetCmd(&af), keysRevokeCmd(&af), keysRotateCmd(&af), keysDeleteCmd(&af))
	return cmd
}

func keysCreateCmd(af *adminFlags) *cobra.Command {
	var (
		name, period, user, team, expires string
		models                            []string
		rpm, rph, tpm, tph                int64
		budget                            float64
		metadata                          map[string]string
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create a virtual key and print its secret (shown only this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			body := map[string]any{"name": name}
			fl := cmd.Flags()
			set := func(flag, field string, v any) {
				if fl.Changed(flag) {
					body[field] = v
				}
			}
			set("models", "models", models)
			set("rpm", "rpm", rpm)
			set("rph", "rph", rph)
			set("tpm", "tpm", tpm)
			set("tph", "tph", tph)
			set("budget-usd", "budget_usd", budget)
			set("budget-period", "budget_period", period)
			set("user", "user_id", user)
			set("team", "team_id", team)
			set("metadata", "metadata", metadata)
			if fl.Changed("expires") {
				t, err := parseWhen("expires", expires, time.Now(), false)
				if err != nil {
					return err
				}
				body["expires_at"] = t.UTC().Format(time.RFC3339)
			}
			var k admin.KeyWithSecret
			if printed, err := c.call(cmd, af.json, http.MethodPost, "/admin/keys", body, &k); err != nil || printed {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created key %s (%s).\n", k.ID, k.Name)
			fmt.Fprintln(out, "Secret — shown only this once, store it now:")
			fmt.Fprintln(out, k.Secret)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "key name (required)")
	f.StringSliceVar(&models, "models", nil, "allowed public model names, comma-separated; wildcards allowed (default: all)")
	f.Int64Var(&rpm, "rpm", 0, "requests per minute (0: no limit)")
	f.Int64Var(&rph, "rph", 0, "requests per hour (0: no limit)")
	f.Int64Var(&tpm, "tpm", 0, "tokens per minute (0: no limit)")
	f.Int64Var(&tph, "tph", 0, "tokens per hour (0: no limit)")
	f.Float64Var(&budget, "budget-usd", 0, "budget in USD per period (0: no budget)")
	f.StringVar(&period, "budget-period", "", "budget period: daily, monthly or total (default total)")
	f.StringVar(&user, "user", "", "owner user id")
	f.StringVar(&team, "team", "", "team id (default: the user's team)")
	f.StringVar(&expires, "expires", "", "expiry: RFC 3339 time, date, or a duration from now (30d, 12h)")
	f.StringToStringVar(&metadata, "metadata", nil, "metadata, key=value pairs, comma-separated")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func keysListCmd(af *adminFlags) *cobra.Command {
	var user, team, status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List virtual keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"user_id": user, "team_id": team, "status": status} {
				if v != "" {
					q.Set(k, v)
				}
			}
			path := "/admin/keys"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var list admin.List[admin.Key]
			if printed, err := c.call(cmd, af.json, http.MethodGet, path, nil, &list); err != nil || printed {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSTATUS\tUSER\tTEAM\tMODELS\tRPM\tTPM\tBUDGET\tEXPIRES")
			for _, k := range list.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
					k.ID, k.Name, k.Prefix, k.Status, orDash(k.UserID), orDash(k.TeamID),
					modelsCell(k.Models), limitCell(k.RPM), limitCell(k.TPM), budgetCell(k.Limits), timeCell(k.ExpiresAt))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "only the keys of this user id")
	f.StringVar(&team, "team", "", "only the keys of this team id")
	f.StringVar(&status, "status", "", "only keys with this status: active, revoked, expired")
	return cmd
}

// keyCmd is a subcommand on the key named by its one argument: method on
// /admin/keys/ID plus suffix, with the body that in returns (in may be
// nil), and the answer shown by show unless --json.
func keyCmd[T any](af *adminFlags, use, short, method, suffix string, in func() (any, error), show func(io.Writer, *T)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body any
			if in != nil {
				var err error
				if body, err = in(); err != nil {
					return err
				}
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			var k T
			if printed, err := c.call(cmd, af.json, method, "/admin/keys/"+url.PathEscape(args[0])+suffix, body, &k); err != nil || printed {
				return err
			}
			show(cmd.OutOrStdout(), &k)
			return nil
		},
	}
}

func keysGetCmd(af *adminFlags) *cobra.Command {
	return keyCmd(af, "get ID", "Show one virtual key", http.MethodGet, "", nil, printKey)
}

func keysRevokeCmd(af *adminFlags) *cobra.Command {
	return keyCmd(af, "revoke ID", "Revoke a virtual key: it stops working at once", http.MethodPost, "/revoke", nil,
		func(out io.Writer, k *admin.Key) {
			fmt.Fprintf(out, "Revoked key %s (%s) at %s.\n", k.ID, k.Name, timeCell(k.RevokedAt))
		})
}

func keysRotateCmd(af *adminFlags) *cobra.Command {
	var grace time.Duration
	cmd := keyCmd(af, "rotate ID [--grace 1h]", "Issue a new secret for a key; the old one keeps working for the grace period", http.MethodPost, "/rotate",
		func() (any, error) {
			if grace < 0 {
				return nil, fmt.Errorf("--grace must not be negative")
			}
			return map[string]any{"grace_seconds": int64(grace / time.Second)}, nil
		},
		func(out io.Writer, k *admin.KeyWithSecret) {
			fmt.Fprintf(out, "Rotated key %s (%s).\n", k.ID, k.Name)
			if k.PrevValidUntil != nil {
				fmt.Fprintf(out, "The old secret keeps working until %s.\n", timeCell(k.PrevValidUntil))
			} else {
				fmt.Fprintln(out, "The old secret no longer works.")
			}
			fmt.Fprintln(out, "New secret — shown only this once, store it now:")
			fmt.Fprintln(out, k.Secret)
		})
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working (e.g. 1h; default: stops at once)")
	return cmd
}

func keysDeleteCmd(af *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a virtual key (its usage records stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), http.MethodDelete, "/admin/keys/"+url.PathEscape(args[0]), nil); err != nil {
				return err
			}
			if !af.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted key %s.\n", args[0])
			}
			return nil
		},
	}
}

func printKey(w io.Writer, k *admin.Key) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	meta := make([]string, 0, len(k.Metadata))
	for name, v := range k.Metadata {
		meta = append(meta, name+"="+v)
	}
	slices.Sort(meta)
	rows := [][2]string{
		{"id", k.ID}, {"name", k.Name}, {"prefix", k.Prefix + "…"}, {"status", k.Status},
		{"user", orDash(k.UserID)}, {"team", orDash(k.TeamID)}, {"models", modelsCell(k.Models)},
		{"rpm", limitCell(k.RPM)}, {"rph", limitCell(k.RPH)}, {"tpm", limitCell(k.TPM)}, {"tph", limitCell(k.TPH)},
		{"budget", budgetCell(k.Limits)}, {"expires", timeCell(k.ExpiresAt)}, {"revoked", timeCell(k.RevokedAt)},
		{"old secret until", timeCell(k.PrevValidUntil)}, {"metadata", strings.Join(meta, ", ")},
		{"created", k.CreatedAt.Format(time.RFC3339)}, {"updated", k.UpdatedAt.Format(time.RFC3339)},
	}
	for _, r := range rows {
		v := r[1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], v)
	}
	_ = tw.Flush()
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

func modelsCell(m []string) string {
	if len(m) == 0 {
		return "*"
	}
	return strings.Join(m, ",")
}

func limitCell(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func budgetCell(l admin.Limits) string {
	if l.BudgetUSD == 0 {
		return "-"
	}
	return "$" + strconv.FormatFloat(l.BudgetUSD, 'f', -1, 64) + "/" + l.BudgetPeriod
}

func timeCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
