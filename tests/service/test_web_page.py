"""The web page in a real headless Chromium against a live server.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped with
the reason when they are missing.  Screenshots go to ``artifacts/web/``.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs the chromium and chromium-driver packages (apt-get install chromium "
    "chromium-driver)",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lcvade-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout: float = 90.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def _severe_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_example_score_and_plots_match_the_api(service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(service.url + "/")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#example-select option")) == 5)
    assert "test-model" in browser.find_element(By.ID, "model-line").text
    Select(browser.find_element(By.ID, "example-select")).select_by_value("asas_rr_lyrae_fm")
    browser.find_element(By.ID, "example-button").click()
    result = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "result")
            if d.find_element(By.ID, "result").get_attribute("data-state") in ("done", "error")
            else False
        ),
    )
    assert result.get_attribute("data-state") == "done", browser.find_element(By.ID, "error").text

    example = httpx.get(f"{service.url}/v1/examples/asas_rr_lyrae_fm").json()["light_curve"]
    api = httpx.post(f"{service.url}/v1/score", json={"light_curves": [example]}, timeout=60)
    expected = api.json()["results"][0]

    ias = browser.find_element(By.ID, "ias")
    assert float(ias.get_attribute("data-value")) == expected["ias"]
    assert ias.text == f"{expected['ias']:.3f}"
    assert browser.find_element(By.ID, "predicted-class").text == expected["predicted_class"]
    period = browser.find_element(By.ID, "period")
    assert float(period.get_attribute("data-value")) == expected["period"]
    assert period.text == f"{expected['period']:.5f} d"
    assert browser.find_element(By.ID, "period-source").text.startswith("estimated")
    assert (
        float(browser.find_element(By.ID, "p-value").get_attribute("data-value"))
        == (expected["p_value"])
    )
    verdict = browser.find_element(By.ID, "verdict").text
    assert verdict == ("Anomalous" if expected["is_anomaly"] else "Typical")
    # which band was read, the catalogue class, and why the curve scored as it did
    assert browser.find_element(By.ID, "bands-read").text == "V"
    assert "RR_Lyrae_FM" in browser.find_element(By.ID, "example-label").text
    summary = browser.find_element(By.ID, "explanation-summary").text
    assert summary == expected["explanation"]["summary"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#explanation-terms tbody tr")
    assert len(rows) == len(expected["explanation"]["terms"])

    # The plots hold what they should: every observed point, the GP band and mean, the
    # induction points, one bar per class.
    raw_points = browser.find_elements(By.CSS_SELECTOR, "#raw-plot .series-points circle")
    assert len(raw_points) == len(example["time"]) == 437
    folded = browser.find_element(By.ID, "folded-plot")
    assert len(folded.find_elements(By.CSS_SELECTOR, ".series-band polygon")) == 1
    assert len(folded.find_elements(By.CSS_SELECTOR, ".series-line path")) == 1
    assert len(folded.find_elements(By.CSS_SELECTOR, "polygon[fill='#fff']")) == 24
    bars = browser.find_elements(By.CSS_SELECTOR, "#class-plot g.bar")
    assert [b.get_attribute("data-class") for b in bars] == list(expected["class_probabilities"])
    # Magnitudes grow downward: the brightest point is drawn nearest the top.
    ys = [float(c.get_attribute("cy")) for c in raw_points]
    brightest = min(range(len(example["mag"])), key=example["mag"].__getitem__)
    assert ys[brightest] == min(ys)
    assert not _severe_console_errors(browser)
    shot = _screenshot(browser, "single_curve.png")
    assert shot.stat().st_size > 10_000


def test_bad_upload_shows_the_service_message(service, browser, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    expected = httpx.post(
        f"{service.url}/v1/parse", files={"file": ("bad.csv", bad.read_bytes())}
    ).json()["error"]["message"]
    browser.get(service.url + "/")
    browser.find_element(By.ID, "curve-file").send_keys(str(bad))
    browser.find_element(By.ID, "curve-button").click()
    error = _wait(
        browser,
        lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").text else False,
    )
    assert error.text == expected
    assert "needs columns time, mag, mag_err" in error.text
    assert browser.find_element(By.ID, "result").get_attribute("hidden") is not None
    _screenshot(browser, "bad_upload.png")


def test_pasted_curve_with_a_bad_error_names_the_field(service, browser, test_curves):
    from selenium.webdriver.common.by import By

    curve = test_curves[0]
    lines = ["time,mag,mag_err"] + [
        f"{t},{m},{-e if i == 3 else e}"
        for i, (t, m, e) in enumerate(zip(curve.time, curve.mag, curve.mag_err, strict=True))
    ]
    browser.get(service.url + "/")
    area = browser.find_element(By.ID, "curve-text")
    browser.execute_script("arguments[0].value = arguments[1];", area, "\n".join(lines))
    browser.find_element(By.ID, "curve-button").click()
    error = _wait(
        browser,
        lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").text else False,
    )
    assert "mag_err[3]" in error.text and "must be > 0" in error.text


def test_batch_table_sorts_and_downloads(service, browser, test_curves, tmp_path):
    from selenium.webdriver.common.by import By

    curves = test_curves[:6]
    table = tmp_path / "many.csv"
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["object_id", "time", "mag", "mag_err"])
        for c in curves:
            for t, m, e in zip(c.time, c.mag, c.mag_err, strict=True):
                writer.writerow([c.id, t, m, e])
    api = httpx.post(
        f"{service.url}/v1/score/upload",
        files={"file": ("many.csv", table.read_bytes())},
        timeout=60,
    ).json()["results"]
    by_ias = [r["id"] for r in sorted(api, key=lambda r: r["ias"])]

    browser.get(service.url + "/")
    browser.find_element(By.ID, "tab-batch").click()
    browser.find_element(By.ID, "batch-file").send_keys(str(table))
    browser.find_element(By.ID, "batch-button").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#batch-table tbody tr")) == 6)
    rows = browser.find_elements(By.CSS_SELECTOR, "#batch-table tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == by_ias
    assert all(len(r.find_elements(By.CSS_SELECTOR, "svg circle")) > 10 for r in rows)
    _screenshot(browser, "batch_table.png")

    browser.find_element(By.CSS_SELECTOR, "th[data-key='ias']").click()  # now descending
    rows = browser.find_elements(By.CSS_SELECTOR, "#batch-table tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == by_ias[::-1]

    downloaded = browser.execute_script("return resultsCsv();")
    parsed = list(csv.DictReader(io.StringIO(downloaded)))
    assert [row["id"] for row in parsed] == by_ias[::-1]
    first = next(r for r in api if r["id"] == parsed[0]["id"])
    assert float(parsed[0]["ias"]) == first["ias"]
    assert parsed[0]["predicted_class"] == first["predicted_class"]
    assert parsed[0]["period_method"] == first["period_method"]
    assert "probability_sinusoid" in parsed[0]


def test_page_uses_no_outside_resources(service):
    html = httpx.get(service.url + "/").text
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    for asset in ("/static/app.js", "/static/plot.js", "/static/style.css"):
        response = httpx.get(service.url + asset)
        assert response.status_code == 200
        text = response.text.replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text
