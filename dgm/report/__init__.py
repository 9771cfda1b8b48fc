"""`dgm report`: plots of a run (score over iterations, lineage, spend) and one HTML page.

matplotlib is imported only when figures are drawn, so importing this package stays cheap.
"""

from dgm.report.build import ReportFiles, build_report, write_report
from dgm.report.data import AgentPoint, CallPoint, ReportData, collect

__all__ = ["AgentPoint", "CallPoint", "ReportData", "ReportFiles", "build_report", "collect", "write_report"]
