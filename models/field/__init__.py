"""Field data adapters behind :func:`models.survey.load_plots`, one small module per source kind.

- :mod:`~models.field.safety`: guards against hostile files (zip bombs, ``../`` members,
  XML entities, non-UTF-8 text, oversize files);
- :mod:`~models.field.tabular`: CSV (plain lon/lat or WKT, ODK Central, KoboToolbox);
- :mod:`~models.field.spreadsheet`: XLSX (KoboToolbox, with its repeat sheets);
- :mod:`~models.field.archive`: zip uploads (a Shapefile, or ODK Central's CSVs with repeats);
- :mod:`~models.field.repeats`: repeat entries inherit their visit (Kobo and ODK joins);
- :mod:`~models.field.vector`: GeoJSON, GeoPackage, Shapefile;
- :mod:`~models.field.kml`: KML and KMZ with folder paths and ExtendedData;
- :mod:`~models.field.gpx`: GPX tracks closed into fields, waypoints, accuracy from DOP;
- :mod:`~models.field.profile`, :mod:`~models.field.profile_files`,
  :mod:`~models.field.xlsform`: form profiles (TOML or the form's XLSForm);
- :mod:`~models.field.mapping`: columns to plot fields, and the advice when none holds the crop;
- :mod:`~models.field.units`, :mod:`~models.field.script`: area units; Zawgyi and NFC text;
- :mod:`~models.field.geotext`: ODK geopoint/geotrace/geoshape text and WKT;
- :mod:`~models.field.columns`: which header holds which field;
- :mod:`~models.field.labels`: crop, status and land cover vocabularies;
- :mod:`~models.field.assemble` with :mod:`~models.field.geometry_checks` and
  :mod:`~models.field.values`: the domain rules and the final table.
"""

from __future__ import annotations

from models.field.base import RawPlots, UnsupportedFormatError

__all__ = ["RawPlots", "UnsupportedFormatError"]
