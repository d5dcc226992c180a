package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidegate/tidegate/internal/admin"
)

func usageCmd() *cobra.Command {
	var (
		af                    adminFlags
		groupBy, since, until string
	)
	cmd := &cobra.Command{
		Use:   "usage [--group-by key|user|team|model|day] [--since 7d] [--until …]",
		Short: "Show usage (requests, tokens, cost) aggregated by key, user, team, model or day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			now := time.Now()
			q := url.Values{"group_by": {groupBy}}
			if since != "" {
				t, err := parseWhen("since", since, now, true)
				if err != nil {
					return err
				}
				q.Set("since", t.UTC().Format(time.RFC3339Nano))
			}
			if until != "" {
				t, err := parseWhen("until", until, now, true)
				if err != nil {
					return err
				}
				q.Set("until", t.UTC().Format(time.RFC3339Nano))
			}
			var rep admin.UsageReport
			if printed, err := c.call(cmd, af.json, http.MethodGet, "/admin/usage?"+q.Encode(), nil, &rep); err != nil || printed {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Usage by %s from %s to %s\n", rep.GroupBy, rep.Since.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339))
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tNAME\tREQUESTS\tREFUSED\tINPUT TOKENS\tOUTPUT TOKENS\tCOST USD")
			for _, r := range rep.Data {
				group := r.Group
				if group == "" {
					group = "(none)"
				}
				name := r.Name
				if name == "" {
					name = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", group, name, r.Requests, r.Refused, r.InputTokens, r.OutputTokens, usd(r.CostUSD))
			}
			t := rep.Totals
			fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%d\t%d\t%s\n", t.Requests, t.Refused, t.InputTokens, t.OutputTokens, usd(t.CostUSD))
			return tw.Flush()
		},
	}
	af.register(cmd)
	f := cmd.Flags()
	f.StringVar(&groupBy, "group-by", "key", "group by key, user, team, model or day")
	f.StringVar(&since, "since", "", "start: RFC 3339 time, date, or a duration ago (7d, 12h) (default 30 days ago)")
	f.StringVar(&until, "until", "", "end: RFC 3339 time, date, or a duration ago (default now)")
	return cmd
}

func usd(f float64) string {
	return strconv.FormatFloat(f, 'f', 4, 64)
}
