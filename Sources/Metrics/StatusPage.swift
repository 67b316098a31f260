/// `GET /status` and `GET /status.json`: a self-contained HTML page (inline CSS and script, no
/// external assets) showing the live numbers, which refreshes itself every second from
/// `/status.json`. Pure: the caller takes the snapshots (keep the previous one for rates).
public enum StatusPage {
    public static let contentType = "text/html; charset=utf-8"
    public static let jsonContentType = "application/json"

    /// The page, with the current numbers already in it (it shows them without script too).
    /// Element ids the script and tests rely on: `connections`, `sessions`, `rate`, `p50`, `p99`,
    /// `requests`, `errors`, `executors`, `workers`, `processes`, `updated`.
    public static func render(_ s: MetricsSnapshot, previous: MetricsSnapshot? = nil, jsonPath: String = "/status.json")
        -> String
    {
        let sum = StatusSummary(s, previous: previous)
        var rows = ""
        for e in sum.executors {
            rows += "<tr><td>\(html(e.name))</td><td>\(e.linkedFronts)</td><td>\(integer(e.outstanding))</td>"
            rows += "<td>\(integer(e.queued))</td>"
            rows += "<td class=\"\(html(e.circuit))\">\(html(e.circuit.isEmpty ? "-" : e.circuit))</td></tr>"
        }
        var wrows = ""
        for w in sum.workers {
            wrows += "<tr><td>\(html(w.name))</td><td class=\"\(w.up ? "up" : "down")\">\(w.up ? "up" : "down")</td>"
            wrows += "<td>\(integer(w.restarts))</td><td>\(html(w.lastExit))</td></tr>"
        }
        var prows = ""
        for p in sum.processes {
            prows += "<tr><td>\(html(p.name))</td><td>\(p.pid)</td><td>\(fixed(p.cpuSeconds, 2))</td>"
            prows += "<td>\(fixed(Double(p.residentBytes) / 1_048_576, 1))</td></tr>"
        }
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Switchyard status</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a;background:#f7f8fa}
        h1{font-size:20px;margin:0 0 16px}h2{font-size:15px;margin:24px 0 8px}
        .tiles{display:flex;flex-wrap:wrap;gap:12px}
        .tile{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;min-width:130px}
        .tile .v{font-size:26px;font-weight:600;font-variant-numeric:tabular-nums}
        .tile .l{color:#5a6672;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
        table{border-collapse:collapse;background:#fff;border:1px solid #dde1e6}
        th,td{padding:4px 12px;text-align:left;border-bottom:1px solid #eef0f3;font-variant-numeric:tabular-nums}
        th{color:#5a6672;font-weight:500}.up,.closed{color:#1a7f37}.down,.open{color:#cf222e}.half_open{color:#9a6700}
        #updated{color:#5a6672;font-size:12px;margin-top:16px}
        </style></head><body>
        <h1>Switchyard</h1>
        <div class="tiles">
        <div class="tile"><div class="v" id="connections">\(integer(sum.connections))</div>\
        <div class="l">connections</div></div>
        <div class="tile"><div class="v" id="sessions">\(integer(sum.sessionsOpen))</div>\
        <div class="l">sessions open</div></div>
        <div class="tile"><div class="v" id="rate">\(sum.requestRate.map { fixed($0, 1) } ?? "-")</div>\
        <div class="l">requests / s</div></div>
        <div class="tile"><div class="v" id="p50">\(millis(sum.p50))</div><div class="l">p50 latency (ms)</div></div>
        <div class="tile"><div class="v" id="p99">\(millis(sum.p99))</div><div class="l">p99 latency (ms)</div></div>
        <div class="tile"><div class="v" id="requests">\(integer(sum.requestsTotal))</div>\
        <div class="l">requests</div></div>
        <div class="tile"><div class="v" id="errors">\(integer(sum.errorsTotal))</div><div class="l">errors</div></div>
        </div>
        <h2>Executors</h2>
        <table><thead><tr><th>executor</th><th>linked fronts</th><th>outstanding</th><th>queued</th>\
        <th>circuit</th></tr></thead>
        <tbody id="executors">\(rows)</tbody></table>
        <h2>Workers</h2>
        <table><thead><tr><th>worker</th><th>health</th><th>restarts</th><th>last exit</th></tr></thead>
        <tbody id="workers">\(wrows)</tbody></table>
        <h2>Processes</h2>
        <table><thead><tr><th>process</th><th>pid</th><th>CPU s</th><th>RSS MiB</th></tr></thead>
        <tbody id="processes">\(prows)</tbody></table>
        <div id="updated" data-taken-at="\(PrometheusText.format(sum.takenAt))">rendered by the server</div>
        <script>
        \(script(jsonPath: jsonPath))
        </script>
        </body></html>

        """
    }

    /// `/status.json` for the same snapshot(s).
    public static func json(_ s: MetricsSnapshot, previous: MetricsSnapshot? = nil) -> String {
        StatusSummary(s, previous: previous).json
    }

    private static func script(jsonPath: String) -> String {
        // The page keeps the previous answer to compute the rate and windowed quantiles itself,
        // so it needs nothing from the server but cumulative numbers.
        """
        (function(){
        "use strict";
        var prev=null, url=\(JSONWriter.quote(jsonPath));
        function $(id){return document.getElementById(id);}
        function esc(s){return String(s).replace(/[&<>"']/g,function(c){return"&#"+c.charCodeAt(0)+";";});}
        function int(v){return v==null?"-":String(Math.round(v));}
        function ms(v){return v==null?"-":(v*1000).toFixed(2);}
        function quantile(q,b,c){var n=c[c.length-1];if(!(n>0))return null;var r=q*n,i=0;
          while(i<b.length&&c[i]<r)i++;if(i===b.length)return b[b.length-1];
          var lo=i?b[i-1]:0,below=i?c[i-1]:0,inb=c[i]-below;return inb>0?lo+(b[i]-lo)*(r-below)/inb:b[i];}
        function rows(id,items,f){$(id).innerHTML=items.map(function(x){return"<tr>"+f(x).join("")+"</tr>";}).join("");}
        function td(v,cls){return"<td"+(cls?" class=\\""+esc(cls)+"\\"":"")+">"+esc(v)+"</td>";}
        function show(s){
          $("connections").textContent=int(s.connections);
          $("sessions").textContent=int(s.sessions_open);
          $("requests").textContent=int(s.requests_total);
          $("errors").textContent=int(s.errors_total);
          var rate=s.request_rate,p50=s.p50_seconds,p99=s.p99_seconds;
          if(prev&&s.taken_at>prev.taken_at){
            rate=Math.max(0,s.requests_total-prev.requests_total)/(s.taken_at-prev.taken_at);
            if(s.latency&&prev.latency&&s.latency.bounds.length===prev.latency.bounds.length){
              var d=s.latency.cumulative.map(function(v,i){return v-prev.latency.cumulative[i];});
              if(d[d.length-1]>0&&d.every(function(v){return v>=0;})){\
        p50=quantile(.5,s.latency.bounds,d);p99=quantile(.99,s.latency.bounds,d);}
            }
          }
          $("rate").textContent=rate==null?"-":rate.toFixed(1);
          $("p50").textContent=ms(p50);$("p99").textContent=ms(p99);
          rows("executors",s.executors,function(e){return[td(e.name),td(e.linked_fronts),\
        td(int(e.outstanding)),td(int(e.queued)),td(e.circuit||"-",e.circuit)];});
          rows("workers",s.workers,function(w){return[td(w.name),td(w.up?"up":"down",w.up?"up":"down"),\
        td(int(w.restarts)),td(w.last_exit)];});
          rows("processes",s.processes,function(p){return[td(p.name),td(p.pid),td(p.cpu_seconds.toFixed(2)),\
        td((p.resident_bytes/1048576).toFixed(1))];});
          $("updated").textContent="updated "+new Date(s.taken_at*1000).toLocaleTimeString();
          $("updated").setAttribute("data-taken-at",String(s.taken_at));
          prev=s;
        }
        function tick(){fetch(url,{cache:"no-store"}).then(function(r){return r.json();}).then(show)
          .catch(function(){$("updated").textContent="status unavailable";}).then(function(){setTimeout(tick,1000);});}
        setTimeout(tick,1000);
        })();
        """
    }

    static func html(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }

    static func integer(_ v: Double) -> String { v.isFinite ? String(Int64(v.rounded())) : "-" }

    /// `v` with `digits` decimals, rounded half away from zero (no Foundation).
    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "-" }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((abs(v) * Double(scale)).rounded())
        let whole = String(n / scale)
        guard digits > 0 else { return (v < 0 && n != 0 ? "-" : "") + whole }
        let frac = String(n % scale)
        return (v < 0 && n != 0 ? "-" : "") + whole + "." + String(repeating: "0", count: digits - frac.count) + frac
    }

    static func millis(_ seconds: Double?) -> String { seconds.map { fixed($0 * 1000, 2) } ?? "-" }
}
