/* 共治 · the maps (issue 21), on the vendored Leaflet. One file for every map page:
   the base layer from the settings (#map-config), GCJ-02 conversion, and each page's
   map, found by its element id. Positions travel in WGS-84; they are converted to
   GCJ-02 only to be drawn on GCJ-02 tiles, and a pin dropped there is converted back
   before it is sent. No inline script: the page's data comes as JSON in
   <script type="application/json"> elements or data- attributes. */
(function () {
  "use strict";
  var GZ = window.GZMap = {};

  // --- GCJ-02 ----------------------------------------------------------------------------------
  // The published transform of China's GCJ-02 ("火星坐标"): an offset of several hundred
  // metres, none outside China. Inverse by iteration (to about a millimetre).
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lat, lon) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function tLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }
  GZ.wgs84ToGcj02 = function (lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * Math.PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180.0) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  };
  GZ.gcj02ToWgs84 = function (lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var wLat = lat, wLon = lon;
    for (var i = 0; i < 30; i++) {
      var g = GZ.wgs84ToGcj02(wLat, wLon), eLat = g[0] - lat, eLon = g[1] - lon;
      wLat -= eLat; wLon -= eLon;
      if (Math.abs(eLat) < 1e-10 && Math.abs(eLon) < 1e-10) { break; }
    }
    return [wLat, wLon];
  };

  // --- the base layer -------------------------------------------------------------------------------
  var config = null;
  function readConfig() {
    var el = document.getElementById("map-config");
    config = el ? JSON.parse(el.textContent) : { tiles: [], crs: "wgs84", boundaries: false, bounds: null };
    return config;
  }
  GZ.config = function () { return config || readConfig(); };
  var gcj = function () { return GZ.config().crs === "gcj02"; };
  // WGS-84 [lat, lon] → the map's L.LatLng, and back.
  GZ.toMap = function (lat, lon) {
    var p = gcj() ? GZ.wgs84ToGcj02(lat, lon) : [lat, lon];
    return L.latLng(p[0], p[1]);
  };
  GZ.fromMap = function (latlng) {
    var p = gcj() ? GZ.gcj02ToWgs84(latlng.lat, latlng.lng) : [latlng.lat, latlng.lng];
    return [Math.round(p[0] * 1e7) / 1e7, Math.round(p[1] * 1e7) / 1e7];
  };
  // The map's view as the endpoints read it: bbox=W,S,E,N (WGS-84) and zoom.
  GZ.viewQuery = function (map) {
    var b = map.getBounds(), sw = GZ.fromMap(b.getSouthWest()), ne = GZ.fromMap(b.getNorthEast());
    var clamp = function (v, lo, hi) { return Math.max(lo, Math.min(hi, v)); };
    return "bbox=" + [clamp(sw[1], -180, 180), clamp(sw[0], -90, 90), clamp(ne[1], -180, 180),
      clamp(ne[0], -90, 90)].map(function (v) { return v.toFixed(6); }).join(",") + "&zoom=" + map.getZoom();
  };

  GZ.create = function (el, options) {
    var cfg = GZ.config();
    var map = L.map(el, Object.assign({ zoomControl: true, minZoom: 3, maxZoom: cfg.maxZoom || 19 }, options || {}));
    // Leaflet 1.9's default prefix shows a flag: the portal's own, explicitly.
    map.attributionControl.setPrefix("共治");
    if (cfg.tiles && cfg.tiles.length) {
      cfg.tiles.forEach(function (url, i) {
        L.tileLayer(url, { subdomains: cfg.subdomains || "abc", maxZoom: cfg.maxZoom || 18,
          attribution: i === 0 ? cfg.attribution : "" }).addTo(map);
      });
    } else {
      el.classList.add("gz-plain");
      map.attributionControl.addAttribution("无底图：边界与楼栋由本平台绘制");
    }
    if (cfg.bounds) {
      map.fitBounds(L.latLngBounds(GZ.toMap(cfg.bounds[0][0], cfg.bounds[0][1]),
        GZ.toMap(cfg.bounds[1][0], cfg.bounds[1][1])));
    } else {
      map.setView(GZ.toMap(39.9, 116.4), 11);
    }
    el.gzMap = map;
    return map;
  };

  // One request at a time per purpose: a newer view cancels the older answer.
  GZ.loader = function (onData) {
    var controller = null;
    return function (url) {
      if (controller) { controller.abort(); }
      controller = new AbortController();
      return fetch(url, { credentials: "same-origin", signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : r.json().then(function (e) { throw new Error(e.error || r.status); }); })
        .then(onData)
        .catch(function (err) { if (err.name !== "AbortError" && window.console) { console.warn(err.message); } });
    };
  };

  // A named pane at a fixed height, so layers that load later (outlines) stay under
  // layers drawn earlier (appeal markers) and never take their clicks.
  function pane(map, name, zIndex) {
    if (!map.getPane(name)) { map.createPane(name).style.zIndex = zIndex; }
    return name;
  }
  GZ.pane = pane;

  function geoLayer(data, style, onEach, paneName) {
    var options = {
      style: style, onEachFeature: onEach,
      coordsToLatLng: function (c) { return GZ.toMap(c[1], c[0]); }
    };
    if (paneName) { options.pane = paneName; }
    return L.geoJSON(data, options);
  }
  GZ.geoLayer = geoLayer;

  // Outlines with their names: the staff maps' plain background shows where things are.
  GZ.outlines = function (map, url, options) {
    options = options || {};
    var layer = L.layerGroup().addTo(map), labels = L.layerGroup().addTo(map);
    // Below the marker pane (400) and the building dots: outlines are background.
    var outlinePane = pane(map, "gzOutlines", 350);
    var load = GZ.loader(function (data) {
      layer.clearLayers(); labels.clearLayers();
      geoLayer(data, function () {
        return { color: "#5a6b85", weight: 1.5, fill: true, fillOpacity: 0.03, dashArray: "4 3" };
      }, null, outlinePane).addTo(layer);
      if (options.labels !== false) {
        data.features.forEach(function (f) {
          labels.addLayer(L.marker(GZ.toMap(f.properties.label[0], f.properties.label[1]), {
            interactive: false, keyboard: false,
            icon: L.divIcon({ className: "gz-label", html: escapeHtml(f.properties.name), iconSize: null })
          }));
        });
      }
    });
    var refresh = function () {
      var extra = options.level ? "&level=" + options.level : "";
      load(url + (url.indexOf("?") < 0 ? "?" : "&") + GZ.viewQuery(map) + extra);
    };
    map.on("moveend", refresh);
    refresh();
    return { layer: layer, refresh: refresh };
  };

  GZ.buildingDots = function (map, url) {
    var layer = L.layerGroup().addTo(map), dotPane = pane(map, "gzBuildings", 380);
    var load = GZ.loader(function (data) {
      layer.clearLayers();
      data.buildings.forEach(function (b) {
        L.circleMarker(GZ.toMap(b.lat, b.lon), { radius: 3, color: "#7a869a", weight: 1, fillOpacity: 0.6, pane: dotPane })
          .bindTooltip(escapeHtml(b.address)).addTo(layer);
      });
    });
    var refresh = function () { load(url + "?" + GZ.viewQuery(map)); };
    map.on("moveend", refresh);
    refresh();
    return layer;
  };

  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  GZ.escapeHtml = escapeHtml;

  // The states' colours (the same as the list's state badges).
  var STATE_COLOURS = { received: "#b26a00", dispatched: "#1f4fbf", in_progress: "#0b7a75", resolved: "#2e7d32",
    awaiting_evaluation: "#6a1b9a", closed: "#607080", declined: "#607080", withdrawn: "#607080" };
  GZ.stateColour = function (state) { return STATE_COLOURS[state] || "#444"; };

  // The phone's position, only in a secure context (HTTPS or localhost).
  GZ.canLocate = function () { return window.isSecureContext && "geolocation" in navigator; };
  GZ.locate = function (onPoint, onError) {
    navigator.geolocation.getCurrentPosition(function (pos) {
      onPoint(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
    }, function (err) { onError(err); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  };

  // --- pages ------------------------------------------------------------------------------------------

  // The resident's submit form: 使用我的位置, a pin to drop or move, the nearest buildings
  // to confirm, a search by 小区 name; the street → community → building lists stay.
  function submitMap(el) {
    var map = GZ.create(el, {});
    var lat = document.getElementById("id_latitude"), lon = document.getElementById("id_longitude");
    var list = document.getElementById("nearby-places"), status = document.getElementById("location-status");
    var pin = null, cfg = GZ.config(), outline = null, dots = L.layerGroup().addTo(map);
    var near = GZ.loader(function (data) { showNearby(data); });
    function setPin(wLat, wLon, zoom) {
      var at = GZ.toMap(wLat, wLon);
      if (!pin) {
        pin = L.marker(at, { draggable: true, autoPan: true, title: "诉求位置" }).addTo(map);
        pin.on("dragend", function () { var p = GZ.fromMap(pin.getLatLng()); choose(p[0], p[1]); });
      } else {
        pin.setLatLng(at);
      }
      map.setView(at, Math.max(map.getZoom(), zoom || 17));
      choose(wLat, wLon);
    }
    function choose(wLat, wLon) {
      lat.value = wLat.toFixed(7); lon.value = wLon.toFixed(7);
      el.dataset.pinned = "1";
      near(el.dataset.nearUrl + "?lat=" + wLat.toFixed(7) + "&lon=" + wLon.toFixed(7));
    }
    function showNearby(data) {
      var html = "";
      if (data.place) {
        html += "<p class=\"nearby-place\">位置：" + escapeHtml(data.place.street.name) +
          (data.place.community ? " · " + escapeHtml(data.place.community.name) : "") +
          (data.place.grid ? " · " + escapeHtml(data.place.grid) : "") + "</p>";
      } else {
        html += "<p class=\"public-warn\">该位置不在本平台的辖区内；请移动图钉，或在下方列表中选择街道和社区。</p>";
      }
      if (data.buildings.length) {
        html += "<p class=\"hint\">附近的楼栋（点击确认，可不选）：</p><ul class=\"nearby-list\">";
        data.buildings.forEach(function (b, i) {
          html += "<li><button type=\"button\" class=\"link nearby-building\" data-index=\"" + i + "\">" +
            escapeHtml(b.address) + (b.compound ? "（" + escapeHtml(b.compound) + "）" : "") + "</button> <span class=\"muted\">" +
            b.distance_m + " 米</span></li>";
        });
        html += "</ul>";
      }
      list.innerHTML = html;
      // The nearby buildings as dots too (places, not administrative boundaries).
      dots.clearLayers();
      data.buildings.forEach(function (b, i) {
        if (b.lat === null) { return; }
        L.circleMarker(GZ.toMap(b.lat, b.lon), { radius: 5, color: "#1f4fbf", weight: 1, fillOpacity: 0.5 })
          .bindTooltip(escapeHtml(b.address)).on("click", function () { pickBuilding(data.buildings[i]); }).addTo(dots);
      });
      list.querySelectorAll(".nearby-building").forEach(function (button) {
        button.addEventListener("click", function () { pickBuilding(data.buildings[+button.dataset.index]); });
      });
      if (outline) { map.removeLayer(outline); outline = null; }
    }
    // A place picked here goes to the form's place cascade (static/js/public.js), which
    // owns the street → community → building lists and their loads.
    function pickPlace(place) {
      document.dispatchEvent(new CustomEvent("gz:place-pick", { detail: place }));
    }
    function pickBuilding(b) {
      pickPlace({ street: { code: b.street.code, label: b.street.name },
        community: { code: b.community.code, label: b.community.name },
        building: { code: b.code, label: b.address + (b.compound ? "（" + b.compound + "）" : "") } });
      if (status) { status.textContent = "已选择楼栋：" + b.address; }
    }
    map.on("click", function (e) { var p = GZ.fromMap(e.latlng); setPin(p[0], p[1], map.getZoom()); });
    if (lat.value && lon.value) { setPin(parseFloat(lat.value), parseFloat(lon.value)); }
    var button = document.getElementById("use-location");
    if (button && GZ.canLocate()) {
      button.hidden = false;
      button.addEventListener("click", function () {
        status.textContent = "正在获取您的位置……";
        GZ.locate(function (wLat, wLon, accuracy) {
          status.textContent = "已定位（精度约 " + Math.round(accuracy) + " 米），可拖动图钉调整。";
          setPin(wLat, wLon, 17);
        }, function () { status.textContent = "无法获取位置：请在地图上点选，或使用下方列表。"; });
      });
    }
    var search = document.getElementById("place-q"), results = document.getElementById("place-results");
    if (search) {
      var named = GZ.loader(function (data) {
        var html = "";
        data.compounds.forEach(function (c, i) {
          html += "<li><button type=\"button\" class=\"link\" data-kind=\"compound\" data-index=\"" + i + "\">" + escapeHtml(c.name) +
            "</button> <span class=\"muted\">" + escapeHtml(c.street.name + " · " + c.community.name) + "</span></li>";
        });
        data.communities.forEach(function (c, i) {
          html += "<li><button type=\"button\" class=\"link\" data-kind=\"community\" data-index=\"" + i + "\">" + escapeHtml(c.name) +
            "</button> <span class=\"muted\">" + escapeHtml(c.street.name) + "</span></li>";
        });
        results.innerHTML = html || (search.value.trim().length >= 2 ? "<li class=\"muted\">没有找到</li>" : "");
        results.querySelectorAll("button").forEach(function (b) {
          b.addEventListener("click", function () {
            var item = data[b.dataset.kind === "compound" ? "compounds" : "communities"][+b.dataset.index];
            if (item.lat) { setPin(item.lat, item.lon, 17); return; }
            pickPlace({ street: { code: item.street.code, label: item.street.name },
              community: { code: item.code, label: item.name }, building: null });
            if (item.bounds) {
              map.fitBounds(L.latLngBounds(GZ.toMap(item.bounds[0][0], item.bounds[0][1]), GZ.toMap(item.bounds[1][0], item.bounds[1][1])));
            }
          });
        });
      });
      var timer = null;
      search.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { named(el.dataset.namedUrl + "?q=" + encodeURIComponent(search.value.trim())); }, 300);
      });
    }
    if (cfg.boundaries && el.dataset.boundariesUrl) { GZ.outlines(map, el.dataset.boundariesUrl); }
  }

  // The tracking page: the place on a small map.
  function pointMap(el) {
    var map = GZ.create(el, { scrollWheelZoom: false });
    var at = GZ.toMap(parseFloat(el.dataset.lat), parseFloat(el.dataset.lon));
    L.circleMarker(at, { radius: 8, color: "#c8102e", weight: 2, fillOpacity: 0.5 }).addTo(map)
      .bindTooltip(escapeHtml(el.dataset.label || ""));
    map.setView(at, 16);
  }

  // The staff queue's map: the list's filters, appeals by state and overdue, clusters far out.
  function queueMap(el) {
    var map = GZ.create(el, {});
    // No outlines for an account without territory (a department's queue): map_config.boundaries.
    if (el.dataset.boundariesUrl) { GZ.outlines(map, el.dataset.boundariesUrl); }
    if (el.dataset.buildingsUrl) { GZ.buildingDots(map, el.dataset.buildingsUrl); }
    var layer = L.layerGroup().addTo(map), count = document.getElementById("map-count");
    var load = GZ.loader(function (data) {
      layer.clearLayers();
      data.clusters.forEach(function (c) {
        var size = 28 + Math.min(24, Math.round(Math.log(c.n) * 4));
        L.marker(GZ.toMap(c.lat, c.lon), {
          icon: L.divIcon({ className: "gz-cluster" + (c.overdue ? " has-overdue" : ""), iconSize: [size, size],
            html: "<span>" + c.n + "</span>" + (c.overdue ? "<em>" + c.overdue + "</em>" : "") }),
          title: c.n + " 件" + (c.overdue ? "，超期 " + c.overdue + " 件" : "")
        }).on("click", function () { map.setView(GZ.toMap(c.lat, c.lon), Math.min(map.getZoom() + 2, 18)); }).addTo(layer);
      });
      data.points.forEach(function (p) {
        L.circleMarker(GZ.toMap(p.lat, p.lon), {
          radius: 8, color: p.overdue ? "#c8102e" : "#ffffff", weight: p.overdue ? 3 : 1.5,
          fillColor: GZ.stateColour(p.state), fillOpacity: 0.9, className: "gz-appeal gz-state-" + p.state + (p.overdue ? " gz-overdue" : "")
        }).bindPopup("<a href=\"" + p.url + "\" class=\"code\">" + escapeHtml(p.code) + "</a><br>" + escapeHtml(p.category) +
          "<br>" + escapeHtml(p.place) + "<br><span class=\"state state-" + p.state + "\">" + escapeHtml(p.state_label) +
          "</span>" + (p.overdue ? " <span class=\"badge bad\">超期</span>" : "")).addTo(layer);
      });
      if (count) { count.textContent = data.total; }
      el.dataset.loaded = String(data.points.length + data.clusters.length);
    });
    var refresh = function () { load(el.dataset.url + (el.dataset.url.indexOf("?") < 0 ? "?" : "&") + GZ.viewQuery(map)); };
    map.on("moveend", refresh);
    refresh();
  }

  // An appeal's page: its point and the open appeals within 100 m.
  function appealMap(el) {
    var data = JSON.parse(document.getElementById("appeal-map-data").textContent);
    var map = GZ.create(el, { scrollWheelZoom: false });
    var at = GZ.toMap(data.point[0], data.point[1]);
    L.circle(at, { radius: data.radius, color: "#c8102e", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(map);
    L.circleMarker(at, { radius: 9, color: "#c8102e", weight: 3, fillOpacity: 0.8 }).bindTooltip(escapeHtml(data.label)).addTo(map);
    data.nearby.forEach(function (n) {
      L.circleMarker(GZ.toMap(n.lat, n.lon), { radius: 6, color: "#fff", weight: 1.5, fillColor: GZ.stateColour(n.state), fillOpacity: 0.9 })
        .bindPopup("<a href=\"" + n.url + "\">" + escapeHtml(n.code) + "</a> " + escapeHtml(n.category) + "，约 " + n.distance + " 米").addTo(map);
    });
    map.setView(at, 17);
    if (el.dataset.boundariesUrl) { GZ.outlines(map, el.dataset.boundariesUrl, { level: "grid" }); }
    if (el.dataset.buildingsUrl) { GZ.buildingDots(map, el.dataset.buildingsUrl); }
  }

  // Patrol and intake: the phone's position fills the form's point.
  function positionField(button) {
    var form = button.closest("form"), status = document.getElementById(button.dataset.status);
    var lat = form.querySelector("[name=latitude]"), lon = form.querySelector("[name=longitude]");
    if (!GZ.canLocate()) { if (status) { status.textContent = "当前页面无法获取位置（需要 HTTPS）：请选择楼栋或填写地址。"; } return; }
    button.hidden = false;
    var el = document.getElementById(button.dataset.map), map = null, marker = null;
    function show(wLat, wLon) {
      lat.value = wLat.toFixed(7); lon.value = wLon.toFixed(7);
      if (!el) { return; }
      el.hidden = false;
      if (!map) { map = GZ.create(el, { scrollWheelZoom: false }); }
      var at = GZ.toMap(wLat, wLon);
      if (!marker) {
        marker = L.marker(at, { draggable: true }).addTo(map);
        marker.on("dragend", function () { var p = GZ.fromMap(marker.getLatLng()); lat.value = p[0].toFixed(7); lon.value = p[1].toFixed(7); });
      } else { marker.setLatLng(at); }
      map.setView(at, 17);
    }
    button.addEventListener("click", function () {
      if (status) { status.textContent = "正在获取位置……"; }
      GZ.locate(function (wLat, wLon, accuracy) {
        if (status) { status.textContent = "已记录现场位置（精度约 " + Math.round(accuracy) + " 米）：" + wLat.toFixed(6) + ", " + wLon.toFixed(6); }
        show(wLat, wLon);
      }, function () { if (status) { status.textContent = "无法获取位置：请选择楼栋或填写地址。"; } });
    });
    if (lat.value && lon.value) { show(parseFloat(lat.value), parseFloat(lon.value)); }
  }

  // The supervisors' map: units coloured by a measure of the report tables, for a period;
  // a click drills down (district → street → community → grid) and offers the unit's
  // report page; the density layer shows where appeals were raised.
  function choropleth(el) {
    var map = GZ.create(el, {});
    var form = document.getElementById("choropleth-form"), info = document.getElementById("choropleth-info");
    var crumbs = document.getElementById("choropleth-crumbs"), legend = document.getElementById("choropleth-legend");
    var layer = L.layerGroup().addTo(map), density = L.layerGroup();
    var path = [];  // the drill-down: [{code, name, level}]
    var colours = ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"];
    function colour(goodness) {
      if (goodness === null || goodness === undefined) { return "#cfd6df"; }
      var i = goodness < 50 ? 0 : goodness < 65 ? 1 : goodness < 75 ? 2 : goodness < 85 ? 3 : goodness < 95 ? 4 : 5;
      return colours[i];
    }
    function params() {
      var data = new FormData(form), q = new URLSearchParams();
      data.forEach(function (v, k) { if (v !== "") { q.append(k, v); } });
      if (path.length) { q.set("parent", path[path.length - 1].code); }
      return q;
    }
    var fitted = false;
    // data-busy: a move or a load is under way, so the units' shapes are about to be
    // redrawn (read by the browser tests, which click a unit only once the map is still).
    var moving = false;
    map.on("movestart", function () { moving = true; el.dataset.busy = "1"; });
    map.on("moveend", function () { moving = false; });  // its refresh (below) loads again
    var load = GZ.loader(function (data) {
      layer.clearLayers();
      var shapes = geoLayer(data, function (f) {
        return { color: "#ffffff", weight: 1, fillColor: colour(f.properties.goodness), fillOpacity: 0.8 };
      }, function (f, l) {
        var p = f.properties;
        l.options.className = "gz-unit gz-unit-" + p.code;  // read when the path is drawn
        l.bindTooltip(escapeHtml(p.name) + "：" + (p.value === null || p.value === undefined ? "无数据" : p.value), { sticky: true });
        l.on("click", function () { select(p); });
      }).addTo(layer);
      el.dataset.level = data.level; el.dataset.features = String(data.features.length);
      if (!fitted && data.features.length) { map.fitBounds(shapes.getBounds()); fitted = true; }
      legend.innerHTML = "<strong>" + escapeHtml(data.measure_label) + "</strong>" + (data.lower_is_better ? "（越低越好）" : "") +
        " · " + escapeHtml(data.period_label) + " · " + escapeHtml(data.level_label) + " " + data.features.length + " 个";
      if (!moving) { delete el.dataset.busy; }
    });
    function refresh() {
      var q = params(); q.set("bbox", GZ.viewQuery(map).split("&")[0].slice(5)); q.set("zoom", map.getZoom());
      el.dataset.busy = "1";
      load(el.dataset.url + "?" + q.toString());
      if (map.hasLayer(density)) { loadDensity(); }
    }
    var densityLoad = GZ.loader(function (data) {
      density.clearLayers();
      var max = data.cells.reduce(function (m, c) { return Math.max(m, c.n); }, 1);
      data.cells.forEach(function (c) {
        L.circleMarker(GZ.toMap(c.lat, c.lon), { radius: 4 + 14 * Math.sqrt(c.n / max), stroke: false,
          fillColor: "#d7301f", fillOpacity: 0.25 + 0.5 * c.n / max, interactive: true }).bindTooltip(c.n + " 件").addTo(density);
      });
    });
    function loadDensity() {
      var q = params(); q.delete("parent"); q.set("bbox", GZ.viewQuery(map).split("&")[0].slice(5)); q.set("zoom", map.getZoom());
      densityLoad(el.dataset.densityUrl + "?" + q.toString());
    }
    function drawCrumbs() {
      var html = "<button type=\"button\" class=\"link\" data-depth=\"0\">" + escapeHtml(el.dataset.topName) + "</button>";
      path.forEach(function (p, i) { html += " › <button type=\"button\" class=\"link\" data-depth=\"" + (i + 1) + "\">" + escapeHtml(p.name) + "</button>"; });
      crumbs.innerHTML = html;
      crumbs.querySelectorAll("button").forEach(function (b) {
        b.addEventListener("click", function () { path = path.slice(0, +b.dataset.depth); fitted = false; drawCrumbs(); refresh(); });
      });
    }
    function select(p) {
      info.innerHTML = "<strong>" + escapeHtml(p.name) + "</strong> " + (p.value === null || p.value === undefined ? "无数据" : p.value) +
        " <a href=\"" + p.url + "\" class=\"button\">查看报表</a>";
      if (p.drill) {
        path.push({ code: p.code, name: p.name, level: p.level });
        fitted = false; drawCrumbs(); refresh();
      } else {
        window.location.href = p.url;  // the lowest level: its report page
      }
    }
    form.addEventListener("change", function (e) {
      if (e.target && e.target.name === "level") { path = []; fitted = false; drawCrumbs(); }  // a level of its own
      refresh();
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
    var toggle = document.getElementById("density-toggle");
    if (toggle) {
      toggle.addEventListener("change", function () {
        if (toggle.checked) { density.addTo(map); loadDensity(); } else { map.removeLayer(density); }
      });
    }
    map.on("moveend", refresh);
    drawCrumbs();
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L) { return; }
    readConfig();
    var el;
    if ((el = document.getElementById("submit-map"))) { submitMap(el); }
    if ((el = document.getElementById("track-map"))) { pointMap(el); }
    if ((el = document.getElementById("queue-map"))) { queueMap(el); }
    if ((el = document.getElementById("appeal-map"))) { appealMap(el); }
    if ((el = document.getElementById("choropleth"))) { choropleth(el); }
    document.querySelectorAll("[data-position-button]").forEach(positionField);
  });
})();
