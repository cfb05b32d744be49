package epcis

// The Core Business Vocabulary's standard terms, by the field that uses them. A JSON-LD
// document names them in bare form ("shipping"); the Event Hash ID uses their web URI
// (https://ref.gs1.org/cbv/BizStep-shipping). Term names are those of CBV 2.0.

var bizStepTerms = words(`accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting installing killing loading other packing picking receiving removing repackaging repairing replacing reserving retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing transporting unloading unpacking void_shipping`)

var dispositionTerms = words(`active available completeness_verified completeness_inferred conformant container_closed container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown`)

var sourceDestTypeTerms = words(`owning_party possessing_party location`)

var bizTransactionTypeTerms = words(`bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt`)

var measurementTypeTerms = words(`AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber`)

var sensorExceptionTerms = words(`ALARM_CONDITION ERROR_CONDITION`)

var componentTerms = words(`x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting northing latitude longitude altitude`)

var errorReasonTerms = words(`did_not_occur incorrect_data`)
