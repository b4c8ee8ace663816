"""Area estimation: from a class map, districts and a labelled reference sample to hectares.

The face of the package: flows, models and ``admon estimate`` import from here.
The modules behind it, in the order a class map travels through them:

- ``inputs``: the class map and the zones, checked (``open_class_map``, ``prepare_zones``);
- ``pixel_area``: the true area of each pixel (equal-area or geodesic);
- ``map_area``: mapped hectares of each class per district (``zonal_class_area``);
- ``design``: the stratified reference sample (``draw_reference_sample``);
- ``reference``: reference units to map class and district (``reference_units``);
- ``stratified``: the stratified estimator (Olofsson et al. 2014; Stehman 2014);
- ``districts``: district and region estimates with intervals;
- ``field``: what the field plots add (eradication, production);
- ``segments``: the area-frame estimate from drone segments;
- ``files``: all of the above from files (``estimate_from_files``).
"""

from __future__ import annotations

from geo.estimation.design import (
    BUFFER_OFFSET,
    RECOMMENDED_ALLOCATION,
    RECOMMENDED_BUFFER_PX,
    draw_reference_sample,
    stratum_code,
    stratum_name,
)
from geo.estimation.districts import district_estimates, region_estimate
from geo.estimation.field import eradication_by_district, production_estimates
from geo.estimation.files import estimate_from_files
from geo.estimation.inputs import check_overlap, open_class_map, prepare_zones
from geo.estimation.map_area import combine_zone_class_rows, zonal_class_area, zone_class_rows
from geo.estimation.pixel_area import row_pixel_area_m2
from geo.estimation.reference import REFERENCE_CLASS_COLUMNS, reference_units
from geo.estimation.segments import SegmentEstimate, segment_estimate, segment_map_area
from geo.estimation.stratified import StratifiedEstimate, stratified_area_estimate, z_value

__all__ = [
    "zonal_class_area",
    "zone_class_rows",
    "combine_zone_class_rows",
    "draw_reference_sample",
    "reference_units",
    "REFERENCE_CLASS_COLUMNS",
    "stratified_area_estimate",
    "StratifiedEstimate",
    "z_value",
    "district_estimates",
    "region_estimate",
    "segment_estimate",
    "segment_map_area",
    "SegmentEstimate",
    "eradication_by_district",
    "production_estimates",
    "estimate_from_files",
    "open_class_map",
    "prepare_zones",
    "check_overlap",
    "row_pixel_area_m2",
    "BUFFER_OFFSET",
    "RECOMMENDED_ALLOCATION",
    "RECOMMENDED_BUFFER_PX",
    "stratum_name",
    "stratum_code",
]
