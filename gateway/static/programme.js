// The buyer's zero-carbon supplier programme (#/programme): each supplier that shares
// its inventories with the buyer, its sites' level (stars, type), renewable share,
// offset ratio, unbacked-claim warnings and attestation badges, as
// GET /v1/programmes/suppliers serves them. Uses app.js's helpers (el, api, $, show).
"use strict";

const starsOf = (site) => (site.stars ? "★".repeat(site.stars) + ` type ${site.factoryType}` : "no level");

function levelCell(site) {
  const unmet = (site.typeI && site.typeI.unmet) || [];
  return el("td", { class: "level", title: unmet.join("\n") || null },
    el("span", { class: `badge ${site.stars ? "ok" : "warn"}` }, starsOf(site)),
    site.ownReduction.met ? null : el("div", { class: "sub" }, "no own reduction"));
}

function warningsCell(site) {
  const unbacked = site.flags.filter((f) => f.code === "unbacked-renewable-claim");
  const others = site.flags.filter((f) => f.code !== "unbacked-renewable-claim" && f.code !== "no-inventory");
  return el("td", { class: "warnings" },
    unbacked.map((f) => el("span", { class: "badge bad unbacked", title: f.message },
      `unbacked renewable claim: ${num(site.renewable.unbackedClaimMWh, 0)} MWh`)),
    others.map((f) => el("div", { class: "sub", title: f.message }, f.code)));
}

function attestationCell(site) {
  if (!site.attestations.length) return el("td", { class: "attestation-badge" }, el("span", { class: "muted" }, "not certified"));
  return el("td", { class: "attestation-badge" }, site.attestations.map((a) =>
    el("div", {},
      el("span", { class: `badge ${a.status === "current" ? "ok" : "bad"}`, title: a.reasons.join("\n") || null },
        a.status === "current" ? "certified · current" : "certification invalidated"),
      el("div", { class: "sub mono" }, a.verifier))));
}

function siteRow(supplier, site, first) {
  return el("tr", { class: "site-row", "data-site": site.site },
    el("td", {}, first ? supplier.supplier : ""),
    el("td", {}, el("span", { class: "mono" }, site.site), el("div", { class: "sub" }, `year ${site.year}`)),
    levelCell(site),
    el("td", { class: "renewable" }, site.renewable.sharePercent === null ? "—" : percent(site.renewable.sharePercent)),
    el("td", { class: "offset" }, site.offsetRatioPercent === null ? "—" : percent(site.offsetRatioPercent)),
    warningsCell(site),
    attestationCell(site));
}

async function showProgramme() {
  for (const id of ["products", "product"]) show(id, false);
  show("programme", true);
  $("programme-status").textContent = "Loading…";
  const answer = await api("/v1/programmes/suppliers");
  const rows = [];
  for (const supplier of answer.suppliers) {
    if (!supplier.sites.length) {
      rows.push(el("tr", { class: "site-row" }, el("td", {}, supplier.supplier),
        el("td", { colspan: 6, class: "muted" }, "no site rated")));
    }
    supplier.sites.forEach((site, i) => rows.push(siteRow(supplier, site, i === 0)));
  }
  $("programme-list").tBodies[0].replaceChildren(...rows);
  $("programme-status").textContent = answer.suppliers.length
    ? `${answer.suppliers.length} supplier${answer.suppliers.length === 1 ? "" : "s"} share their inventories with your organisation.`
    : "No supplier shares its inventories with your organisation yet.";
}
