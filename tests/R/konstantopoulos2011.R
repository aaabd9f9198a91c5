# Regenerate the metafor reference values the Python tests compare against
# (tests/stats/test_meta.py; the values in tests/reference/konstantopoulos2011_reference.json were
# copied from metafor's own printed examples, see konstantopoulos2011_SOURCE.md).
#
# Run from the repository root, with R, metafor (>= 5.1) and jsonlite installed:
#   Rscript tests/R/konstantopoulos2011.R
# It writes tests/reference/konstantopoulos2011_from_R.json; compare its numbers with the
# "printed_4dp" block of the reference file, and the data with tests/reference/konstantopoulos2011.csv.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

dat <- dat.konstantopoulos2011
csv <- read.csv("tests/reference/konstantopoulos2011.csv")
stopifnot(isTRUE(all.equal(as.numeric(dat$yi), csv$yi)), isTRUE(all.equal(dat$vi, csv$vi)),
          all(dat$district == csv$district))

# three-level model: estimates nested in districts (analysis.random_effects(..., cluster=district))
res <- rma.mv(yi, vi, random = ~ 1 | district/school, data = dat)
pred <- predict(res)
# total I^2 for a multilevel model (metafor FAQ): W = diag(1/vi)
W <- diag(1 / dat$vi)
X <- model.matrix(res)
P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
i2_total <- 100 * sum(res$sigma2) / (sum(res$sigma2) + (res$k - res$p) / sum(diag(P)))

# two-level model (analysis.random_effects without cluster)
two <- rma(yi, vi, data = dat)

round4 <- function(x) round(unname(as.numeric(x)), 4)
out <- list(
  metafor_version = as.character(packageVersion("metafor")),
  rma_mv_REML_district_school = list(
    estimate = round4(coef(res)), se = round4(res$se), zval = round4(res$zval), pval = round4(res$pval),
    ci.lb = round4(res$ci.lb), ci.ub = round4(res$ci.ub), sigma2 = round4(res$sigma2),
    QE = round(res$QE, 3), QE_df = res$k - res$p, logLik = round4(logLik(res)),
    pi.lb = round4(pred$pi.lb), pi.ub = round4(pred$pi.ub), I2_total = round(i2_total, 2)),
  rma_uni_REML_two_level = list(
    estimate = round4(coef(two)), se = round4(two$se), tau2 = round4(two$tau2), I2 = round(two$I2, 2))
)
write_json(out, "tests/reference/konstantopoulos2011_from_R.json", auto_unbox = TRUE, pretty = TRUE, digits = NA)
print(res)
cat("\nwrote tests/reference/konstantopoulos2011_from_R.json\n")
